// --accept-proxy against clients whose header is wrong, short, late or cut by a reset: each is
// closed with close=bad_proxy_header and an error naming the problem, the backend is never
// contacted, and the process goes on serving good connections. A header split in 1-byte
// writes with pauses is read whole.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>

#include "edge_fixture.h"
#include "proxy_header_client.h"

namespace edge::test {
namespace {

class BadProxyHeader : public EdgeFixture {
 protected:
  Backend& start() {
    return start_with_echo_backend(
        {"--accept-proxy", "--trusted-proxies", "127.0.0.1", "--proxy-header-timeout", "300ms"});
  }

  std::string clientOf(const RawClient& client) const {
    return "127.0.0.1:" + std::to_string(client.local_port());
  }

  // A good connection through a v1 header: served, logged as the header's client.
  void expectServed(Backend& backend, std::uint16_t claimed_port) {
    auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
    ASSERT_TRUE(client);
    ASSERT_EQ(client->write("PROXY TCP4 127.0.0.9 127.0.0.1 " + std::to_string(claimed_port) +
                            " 80\r\nok\n"),
              IoResult::ok);
    client->shutdown_write();
    EXPECT_EQ(client->read_to_end(), backend.id() + "\nok\n");
    const auto record = recordFor(edge(), "127.0.0.9:" + std::to_string(claimed_port));
    ASSERT_TRUE(record);
    EXPECT_EQ(record->get("close"), "client_closed");
  }
};

struct BadCase {
  const char* name;
  std::string bytes;
  std::string error;  // a part of the logged error
  bool half_close = false;
};

TEST_F(BadProxyHeader, EachIsClosedWithWhatWasWrongAndNoTargetContacted) {
  Backend& backend = start();
  const std::string good = proxyV2Inet("127.0.0.5", 4242, "127.0.0.1", 80);
  const std::vector<BadCase> cases = {
      {"wrong signature", "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
       "not a PROXY header (starts with 0x47 'G')"},
      {"v2 signature mangled", std::string("\r\n\r\n\0\r\nQUIX\n\x21\x11\0\x0c", 16),
       "not the v2 signature"},
      {"truncated then closed", good.substr(0, 20),
       "client closed before its PROXY header ended (20 bytes received)", true},
      {"v2 length beyond the limit", proxyV2(0x21, 0x11, std::string(12, '\x01'), 2000),
       "header of 2016 bytes (length 2000) is longer than the 1040 accepted"},
      {"v2 length beyond the bytes sent, then closed",
       proxyV2(0x21, 0x11, std::string(12, '\x01'), 500),
       "client closed before its PROXY header ended (28 bytes received)", true},
      {"v1 without CRLF", "PROXY TCP4 127.0.0.5 127.0.0.1 4242 80\n", "v1: LF without CR"},
      {"v1 over 107 bytes", "PROXY UNKNOWN " + std::string(120, 'a') + "\r\n",
       "v1: no CRLF in the first 107 bytes"},
      {"v1 bad address", "PROXY TCP4 127.0.0.05 127.0.0.1 4242 80\r\n",
       "v1: source address \"127.0.0.05\" is not IPv4"},
      {"unknown family", proxyV2(0x21, 0x41, std::string(12, '\x01')), "v2: unknown family 4"},
      {"v2 version 1", proxyV2(0x11, 0x11, std::string(12, '\x01')), "v2: version 1"},
      {"v2 TLV past the end",
       proxyV2(0x21, 0x11, std::string(12, '\x01') + std::string("\x05\x00\x09x", 4)),
       "runs past the header's end"},
      {"closed before any byte", "", "client closed before its PROXY header ended (0 bytes", true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
    ASSERT_TRUE(client);
    ASSERT_EQ(client->write(c.bytes), IoResult::ok);
    if (c.half_close) client->shutdown_write();
    // Closed on the bytes, well before the 300ms timeout would (whose error text differs).
    EXPECT_EQ(client->read_to_end(2s), "");
    EXPECT_TRUE(client->last() == IoResult::eof || client->last() == IoResult::reset)
        << to_string(client->last());
    const auto record = recordFor(edge(), clientOf(*client));
    ASSERT_TRUE(record) << "no record for " << clientOf(*client);
    EXPECT_EQ(record->get("close"), "bad_proxy_header");
    EXPECT_NE(record->get("error").find(c.error), std::string::npos) << record->get("error");
  }
  EXPECT_EQ(backend.accepted(), 0);
  expectServed(backend, 5001);
  EXPECT_EQ(backend.accepted(), 1);
}

TEST_F(BadProxyHeader, AHeaderThatNeverCompletesIsClosedAtTheTimeout) {
  Backend& backend = start();
  auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
  ASSERT_TRUE(client);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(client->write("PROXY TCP4 "), IoResult::ok);
  EXPECT_EQ(client->read_to_end(3s), "");
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(client->last() == IoResult::eof || client->last() == IoResult::reset)
      << to_string(client->last());
  EXPECT_GE(waited, 290ms);
  EXPECT_LT(waited, 1500ms);
  const auto record = recordFor(edge(), clientOf(*client));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->get("close"), "bad_proxy_header");
  EXPECT_EQ(record->get("error"), "PROXY header not complete after 300ms (11 bytes received)");

  // Silent from the start: the same.
  auto silent = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
  ASSERT_TRUE(silent);
  EXPECT_EQ(silent->read_to_end(3s), "");
  const auto quiet = recordFor(edge(), clientOf(*silent));
  ASSERT_TRUE(quiet);
  EXPECT_EQ(quiet->get("error"), "PROXY header not complete after 300ms (0 bytes received)");
  EXPECT_EQ(backend.accepted(), 0);
  expectServed(backend, 5002);
}

TEST_F(BadProxyHeader, AClientThatResetsMidHeaderIsLogged) {
  Backend& backend = start();
  auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
  ASSERT_TRUE(client);
  const std::string who = clientOf(*client);
  ASSERT_EQ(client->write("PROXY TCP4 127.0.0"), IoResult::ok);
  std::this_thread::sleep_for(50ms);  // read as Incomplete first
  client->reset();
  const auto record = recordFor(edge(), who, 2s);  // well before the 300ms timeout's log
  ASSERT_TRUE(record);
  EXPECT_EQ(record->get("close"), "bad_proxy_header");
  EXPECT_EQ(record->get("error"), "client reset before its PROXY header ended (18 bytes received)");
  EXPECT_EQ(backend.accepted(), 0);
  expectServed(backend, 5003);
}

TEST_F(BadProxyHeader, AHeaderStillComingAtShutdownIsClosedAndHoldsNothingUp) {
  start_with_echo_backend({"--accept-proxy", "--trusted-proxies", "127.0.0.1",
                           "--proxy-header-timeout", "30s", "--drain-timeout", "20s"});
  auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write("PROXY TCP4 127.0.0.5"), IoResult::ok);
  // Read as Incomplete before the signal.
  std::this_thread::sleep_for(100ms);
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(signal_edge(SIGTERM));
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  // Neither the 30s header timeout nor the 20s drain timeout was waited for.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(client->read_to_end(2s), "");
  const auto record = recordFor(edge(), clientOf(*client), 2s);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->get("close"), "shutdown");
  EXPECT_EQ(record->get("error"), "shutting down before its PROXY header was read");
}

TEST_F(BadProxyHeader, AHeaderInOneByteWritesWithPausesIsReadWhole) {
  Backend& backend = start();
  for (const std::string& header : {std::string("PROXY TCP4 127.0.0.9 127.0.0.1 6001 80\r\n"),
                                    proxyV2Inet("127.0.0.9", 6002, "127.0.0.1", 80)}) {
    auto client = RawClient::connect("127.0.0.1", "127.0.0.1", edge().port());
    ASSERT_TRUE(client);
    for (char c : header) {
      ASSERT_EQ(client->write(std::string_view(&c, 1)), IoResult::ok);
      std::this_thread::sleep_for(3ms);  // 40 bytes in ~120ms: within the 300ms timeout
    }
    ASSERT_EQ(client->write("data right behind\n"), IoResult::ok);
    client->shutdown_write();
    EXPECT_EQ(client->read_to_end(), backend.id() + "\ndata right behind\n");
  }
  for (const char* who : {"127.0.0.9:6001", "127.0.0.9:6002"}) {
    const auto record = recordFor(edge(), who);
    ASSERT_TRUE(record) << who;
    EXPECT_EQ(record->get("close"), "client_closed");
  }
  EXPECT_EQ(backend.accepted(), 2);
}

}  // namespace
}  // namespace edge::test
