// --accept-proxy with a real HAProxy in front: the client HAProxy saw is the client in
// edge-connector's access log (v2 and v1, IPv4 and IPv6), the bytes pass exactly both ways
// (including those the client sent at once, right behind the header), LOCAL health checks are
// served with the connection's own addresses, and a peer outside --trusted-proxies is closed
// before any target is contacted.
#include <gtest/gtest.h>

#include <string>

#include "edge_fixture.h"
#include "haproxy_process.h"
#include "proxy_header_client.h"

namespace edge::test {
namespace {

// Bytes that are not all alike, so a lost or shifted piece shows.
std::string payload(std::size_t size) {
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; out.size() < size; ++i) out += "line " + std::to_string(i) + "\n";
  out.resize(size);
  return out;
}

class AcceptProxy : public EdgeFixture {
 protected:
  // A client from `source` through HAProxy (`server_options` on its server line) to
  // edge-connector and the echo backend: writes at once, half-closes, reads to the end.
  void throughHaproxy(Backend& backend, const std::string& source, const std::string& bind_address,
                      const std::string& server_options, const std::string& logged_client_address);
};

void AcceptProxy::throughHaproxy(Backend& backend, const std::string& source,
                                 const std::string& bind_address, const std::string& server_options,
                                 const std::string& logged_client_address) {
  HaproxyProcess haproxy({.bind_address = bind_address,
                          .server = "127.0.0.1:" + std::to_string(edge().port()),
                          .server_options = server_options});
  auto client = RawClient::connect(source, bind_address, haproxy.port());
  ASSERT_TRUE(client);
  const std::string data = payload(64 * 1024);
  // Sent the moment the connection exists: HAProxy forwards it right behind the header.
  ASSERT_EQ(client->write(data), IoResult::ok);
  client->shutdown_write();
  const std::string expected = backend.id() + "\n" + data;  // greeting, then the echo
  const std::string got = client->read_to_end();
  EXPECT_EQ(client->last(), IoResult::eof) << to_string(client->last());
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the bytes differ";

  // The backend got the data and nothing else: the header stayed with edge-connector.
  ASSERT_TRUE(backend.wait_reports(1, 5s));
  const auto report = backend.reports().back();
  EXPECT_EQ(report.bytes_received, data.size());
  EXPECT_TRUE(report.text_received == data) << report.text_received.substr(0, 80);

  const std::string client_text =
      logged_client_address + ":" + std::to_string(client->local_port());
  const auto record = recordFor(edge(), client_text);
  ASSERT_TRUE(record) << "no access-log record with client=" << client_text;
  EXPECT_EQ(record->get("close"), "client_closed");
  EXPECT_EQ(record->integer("bytes_to_target"), static_cast<long long>(data.size()));
  EXPECT_EQ(record->integer("bytes_to_client"), static_cast<long long>(expected.size()));
}

TEST_F(AcceptProxy, HaproxySendingV2GivesTheRealClient) {
  Backend& backend = start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1"});
  throughHaproxy(backend, "127.0.0.5", "127.0.0.1", "send-proxy-v2", "127.0.0.5");
}

TEST_F(AcceptProxy, HaproxySendingV1GivesTheRealClient) {
  Backend& backend = start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1"});
  throughHaproxy(backend, "127.0.0.5", "127.0.0.1", "send-proxy", "127.0.0.5");
}

TEST_F(AcceptProxy, AnIpv6ClientThroughV2IsLoggedAsItself) {
  Backend& backend = start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1"});
  throughHaproxy(backend, "::1", "::1", "send-proxy-v2", "[::1]");
}

TEST_F(AcceptProxy, AnIpv6ClientThroughV1IsLoggedAsItself) {
  Backend& backend = start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1"});
  throughHaproxy(backend, "::1", "::1", "send-proxy", "[::1]");  // "PROXY TCP6 ::1 ::1 ..."
}

TEST_F(AcceptProxy, ARawLocalHeaderIsServedWithTheConnectionsOwnAddresses) {
  Backend& backend =
      start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.0/8"});
  auto client = RawClient::connect("127.0.0.7", "127.0.0.1", edge().port());
  ASSERT_TRUE(client);
  // LOCAL (a load balancer's health check), here with addresses it must ignore, and data.
  ASSERT_EQ(client->write(proxyV2(0x20, 0x11, std::string(12, '\x01')) + "ping\n"), IoResult::ok);
  client->shutdown_write();
  EXPECT_EQ(client->read_to_end(), backend.id() + "\nping\n");
  const auto record = recordFor(edge(), "127.0.0.7:" + std::to_string(client->local_port()));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->get("close"), "client_closed");
  EXPECT_EQ(backend.accepted(), 1);
}

TEST_F(AcceptProxy, HaproxyHealthChecksWithLocalAreServed) {
  Backend& backend = start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1"});
  HaproxyProcess haproxy({.server = "127.0.0.1:" + std::to_string(edge().port()),
                          .server_options = "send-proxy-v2 check check-send-proxy inter 100ms"});
  // Checks connect, send their header and close: each one reaches the backend, none is refused.
  ASSERT_TRUE(run_until([&] { return backend.accepted() >= 2; }, 10s))
      << "accepted " << backend.accepted();
  ASSERT_TRUE(edge().wait_access_log(2, 5s));
  for (const auto& record : edge().access_log()) {
    EXPECT_NE(record.get("close"), "bad_proxy_header") << record.get("error");
    EXPECT_TRUE(record.get("client").starts_with("127.0.0.1:")) << record.get("client");
  }
}

TEST_F(AcceptProxy, AnUntrustedPeerIsClosedBeforeAnyTargetIsContacted) {
  Backend& backend =
      start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.2/32"});
  auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write(proxyV2Inet("127.0.0.5", 4242, "127.0.0.1", 80) + "hello\n"),
            IoResult::ok);
  EXPECT_EQ(client->read_to_end(), "");
  EXPECT_TRUE(client->last() == IoResult::eof || client->last() == IoResult::reset)
      << to_string(client->last());
  // Logged as the peer it is, not as the address its header claims.
  const auto record = recordFor(edge(), "127.0.0.1:" + std::to_string(client->local_port()));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->get("close"), "untrusted_proxy");
  EXPECT_EQ(record->get("error"), "not in --trusted-proxies");
  EXPECT_EQ(backend.accepted(), 0);

  // The trusted one is served.
  auto trusted = RawClient::connect("127.0.0.2", "127.0.0.1", edge().port());
  ASSERT_TRUE(trusted);
  ASSERT_EQ(trusted->write(proxyV2Inet("127.0.0.5", 4242, "127.0.0.1", 80) + "hello\n"),
            IoResult::ok);
  trusted->shutdown_write();
  EXPECT_EQ(trusted->read_to_end(), backend.id() + "\nhello\n");
  const auto served = recordFor(edge(), "127.0.0.5:4242");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->get("close"), "client_closed");
  EXPECT_EQ(backend.accepted(), 1);
}

}  // namespace
}  // namespace edge::test
