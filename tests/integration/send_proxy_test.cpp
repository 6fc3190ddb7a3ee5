// --send-proxy: the target connection starts with a PROXY header carrying the client's address.
// Checked by a real reader of the header (nginx's stream module with `listen ... proxy_protocol`,
// answering the address it was told), and by a raw backend for the v2 TLV nginx cannot show.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <string>

#include "edge_fixture.h"
#include "free_port.h"
#include "manual_backend.h"
#include "nginx_process.h"
#include "socket_io.h"
#include "socket_util.h"

namespace edge::test {
namespace {

using SendProxy = EdgeFixture;

struct Connection {
  UniqueFd fd;
  std::uint16_t local_port = 0;
};

socklen_t to_sockaddr(const std::string& ip, std::uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof(out));
  if (ip.find(':') != std::string::npos) {
    auto& sa = reinterpret_cast<sockaddr_in6&>(out);
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    if (::inet_pton(AF_INET6, ip.c_str(), &sa.sin6_addr) != 1) throw std::invalid_argument(ip);
    return sizeof(sa);
  }
  auto& sa = reinterpret_cast<sockaddr_in&>(out);
  sa = ipv4_address(ip, port);
  return sizeof(sa);
}

// A connection from `source` (bound before connecting, the kernel picks the port) to
// `address`:`port`; nullopt unless it is established within `timeout`.
std::optional<Connection> connect_from(const std::string& source, const std::string& address,
                                       std::uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_storage from{}, to{};
  const socklen_t from_len = to_sockaddr(source, 0, from);
  const socklen_t to_len = to_sockaddr(address, port, to);
  UniqueFd fd(::socket(from.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::nullopt;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), from_len) != 0) return std::nullopt;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), to_len) != 0 && errno != EINPROGRESS) {
    return std::nullopt;
  }
  if (wait_ready(fd.get(), POLLOUT, Until::in(timeout)) != IoResult::ok) return std::nullopt;
  int error = 0;
  socklen_t len = sizeof(error);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    return std::nullopt;
  }
  const std::uint16_t local = local_port(fd.get());
  return Connection{std::move(fd), local};
}

// Reads until `want` bytes are in (or the peer ends the stream, or the deadline passes).
std::string read_bytes(int fd, std::size_t want, std::chrono::milliseconds timeout) {
  const Until until = Until::in(timeout);
  std::string out;
  char buffer[4096];
  while (out.size() < want) {
    std::size_t got = 0;
    if (recv_some(fd, buffer, std::min(sizeof(buffer), want - out.size()), got, until) !=
        IoResult::ok) {
      break;
    }
    out.append(buffer, got);
  }
  return out;
}

// Everything up to the peer's FIN (bounded).
std::string read_to_eof(int fd, std::chrono::milliseconds timeout) {
  return read_bytes(fd, std::size_t(1) << 20, timeout);
}

// What nginx answers a client of edge from `source`: the address the PROXY header announced.
std::string nginx_answer(const std::string& source, const std::string& edge_address,
                         std::uint16_t edge_port, std::uint16_t& client_port) {
  auto client = connect_from(source, edge_address, edge_port, kIoTimeout);
  if (!client) return "<connect failed>";
  client_port = client->local_port;
  return read_to_eof(client->fd.get(), kIoTimeout);
}

std::string expected(const std::string& address, std::uint16_t port) {
  return address + ":" + std::to_string(port) + "\n";
}

void expect_seen_as_client(EdgeProcess& edge, NginxProcess& nginx, const std::string& source,
                           const std::string& edge_address) {
  std::uint16_t client_port = 0;
  const std::string answer = nginx_answer(source, edge_address, edge.port(), client_port);
  EXPECT_EQ(answer, expected(source, client_port)) << testing::PrintToString(nginx.error_log());
  ASSERT_TRUE(edge.wait_access_log(1, kIoTimeout));
  const auto record = edge.access_log().back();
  // The header is not client data: the access log counts what the client sent.
  EXPECT_EQ(record.integer("bytes_to_target"), 0);
  EXPECT_EQ(record.integer("bytes_to_client"), static_cast<long long>(answer.size()));
}

TEST_F(SendProxy, V2ClientFrom127_0_0_5IsSeenAsItselfByNginx) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v2"});
  expect_seen_as_client(edge(), nginx, "127.0.0.5", "127.0.0.1");
}

TEST_F(SendProxy, V1ClientFrom127_0_0_5IsSeenAsItselfByNginx) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v1"});
  expect_seen_as_client(edge(), nginx, "127.0.0.5", "127.0.0.1");
}

TEST_F(SendProxy, V2Ipv6ClientIsSeenAsItselfByNginx) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v2", "--listen", "[::1]:0"});
  expect_seen_as_client(edge(), nginx, "::1", "::1");
}

TEST_F(SendProxy, V1Ipv6ClientIsSeenAsItselfByNginx) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v1", "--listen", "[::1]:0"});
  expect_seen_as_client(edge(), nginx, "::1", "::1");
}

// A dual-stack listener sees an IPv4 client as ::ffff:a.b.c.d; the header says IPv4.
TEST_F(SendProxy, V2Ipv4ClientOnDualStackListenerIsSeenAsIpv4) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v2", "--listen", "0"});
  expect_seen_as_client(edge(), nginx, "127.0.0.5", "127.0.0.1");
  EXPECT_EQ(edge().access_log().back().get("client").rfind("[::ffff:127.0.0.5]:", 0), 0u)
      << "the listener was expected to be dual-stack: " << edge().access_log().back().get("client");
}

TEST_F(SendProxy, V1Ipv4ClientOnDualStackListenerIsSeenAsIpv4) {
  NginxProcess nginx;
  start_dns(single_target(nginx.port(), "nginx.svc.test"));
  start_edge({"--send-proxy", "v1", "--listen", "0"});
  expect_seen_as_client(edge(), nginx, "127.0.0.5", "127.0.0.1");
}

// The first target refuses; the retry's connection gets a header of its own, whole.
TEST_F(SendProxy, RetryToTheNextTargetSendsTheHeaderAgain) {
  NginxProcess nginx;
  DnsRecords records;
  records.srv.push_back(
      {.name = kService, .target = "refuser.svc.test", .port = refusing_port(), .priority = 10});
  records.hosts.push_back({"refuser.svc.test", "127.0.0.1"});
  records.srv.push_back(
      {.name = kService, .target = "nginx.svc.test", .port = nginx.port(), .priority = 20});
  records.hosts.push_back({"nginx.svc.test", "127.0.0.1"});
  start_dns(std::move(records));
  start_edge({"--send-proxy", "v2"});

  std::uint16_t client_port = 0;
  const std::string answer = nginx_answer("127.0.0.5", "127.0.0.1", edge().port(), client_port);
  EXPECT_EQ(answer, expected("127.0.0.5", client_port))
      << testing::PrintToString(nginx.error_log());
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.integer("attempts"), 2);
  EXPECT_EQ(record.get("target"), nginx.endpoint());
}

// nginx cannot show the TLV: a raw backend reads the header's bytes. Bytes the client sent before
// the target connected come right after the header.
TEST_F(SendProxy, V2HeaderCarriesTheConnectionIdAndPrecedesTheClientsBytes) {
  ManualBackend backend;
  start_dns(single_target(backend.port()));
  start_edge({"--send-proxy", "v2"});

  auto client = connect_from("127.0.0.5", "127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  const std::string early = "sent before the target connected\n";
  ASSERT_EQ(send_all(client->fd.get(), early.data(), early.size(), Until::in(kIoTimeout)),
            IoResult::ok);
  UniqueFd target = backend.accept_one(kIoTimeout);
  ASSERT_TRUE(target.valid());

  const std::string fixed = read_bytes(target.get(), 16, kIoTimeout);
  ASSERT_EQ(fixed.size(), 16u);
  EXPECT_EQ(fixed.substr(0, 12), std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  EXPECT_EQ(static_cast<std::uint8_t>(fixed[12]), 0x21);  // version 2, PROXY
  EXPECT_EQ(static_cast<std::uint8_t>(fixed[13]), 0x11);  // TCP over IPv4
  const std::size_t length =
      static_cast<std::uint8_t>(fixed[14]) << 8 | static_cast<std::uint8_t>(fixed[15]);
  ASSERT_EQ(length, 12u + 3u + 16u);  // addresses, then one TLV with 16 hex digits
  const std::string rest = read_bytes(target.get(), length + early.size(), kIoTimeout);
  ASSERT_EQ(rest.size(), length + early.size());
  EXPECT_EQ(rest.substr(0, 8), std::string("\x7f\0\0\x05\x7f\0\0\x01", 8));
  auto port_at = [&](std::size_t at) {
    return static_cast<std::uint16_t>(static_cast<std::uint8_t>(rest[at]) << 8 |
                                      static_cast<std::uint8_t>(rest[at + 1]));
  };
  EXPECT_EQ(port_at(8), client->local_port);
  EXPECT_EQ(port_at(10), edge().port());
  EXPECT_EQ(static_cast<std::uint8_t>(rest[12]), 0x05);  // PP2_TYPE_UNIQUE_ID
  EXPECT_EQ(port_at(13), 16u);
  const std::string tlv_id = rest.substr(15, 16);
  EXPECT_EQ(rest.substr(length), early);

  client->fd.reset();  // the client leaves; edge closes the target side
  EXPECT_EQ(read_to_eof(target.get(), kIoTimeout), "");
  target.reset();
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("id"), tlv_id);
  EXPECT_EQ(record.get("client"), "127.0.0.5:" + std::to_string(client->local_port));
  EXPECT_EQ(record.integer("bytes_to_target"), static_cast<long long>(early.size()));
}

// Regression guard: without --send-proxy the target gets exactly the client's bytes.
TEST_F(SendProxy, OffSendsExactlyTheClientsBytes) {
  ManualBackend backend;
  start_dns(single_target(backend.port()));
  start_edge();

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  const std::string data = "PROXY is not what this client says\r\n";
  ASSERT_EQ(client->write_all(data, kIoTimeout), IoResult::ok);
  client->shutdown_write();
  UniqueFd target = backend.accept_one(kIoTimeout);
  ASSERT_TRUE(target.valid());
  EXPECT_EQ(read_to_eof(target.get(), kIoTimeout), data);
}

}  // namespace
}  // namespace edge::test
