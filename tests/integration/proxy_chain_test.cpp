// The whole chain with real peers on both sides: a client -> HAProxy (send-proxy-v2 or
// send-proxy) -> edge-connector (--accept-proxy, --send-proxy) -> nginx reading the header and
// answering the client address it was given. The client's own address must come out at the end,
// and every check that uses the client address must use it, not HAProxy's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "edge_fixture.h"
#include "haproxy_process.h"
#include "nginx_process.h"
#include "unique_fd.h"

namespace edge::test {
namespace {

// A connection from `source` to `address`:`port` (both IPv4, or both IPv6); invalid if refused.
UniqueFd connectFrom(const std::string& source, const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  const timeval timeout{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_storage from{};
  sockaddr_storage to{};
  socklen_t size = 0;
  if (v6) {
    auto* f = reinterpret_cast<sockaddr_in6*>(&from);
    auto* t = reinterpret_cast<sockaddr_in6*>(&to);
    f->sin6_family = t->sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, source.c_str(), &f->sin6_addr);
    ::inet_pton(AF_INET6, address.c_str(), &t->sin6_addr);
    t->sin6_port = htons(port);
    size = sizeof(sockaddr_in6);
  } else {
    auto* f = reinterpret_cast<sockaddr_in*>(&from);
    auto* t = reinterpret_cast<sockaddr_in*>(&to);
    f->sin_family = t->sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &f->sin_addr);
    ::inet_pton(AF_INET, address.c_str(), &t->sin_addr);
    t->sin_port = htons(port);
    size = sizeof(sockaddr_in);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&from), size) != 0 ||
      ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), size) != 0) {
    return UniqueFd();
  }
  return fd;
}

std::uint16_t localPort(int fd) {
  sockaddr_storage ss{};
  socklen_t size = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &size);
  return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

// The line nginx answers ("ADDR:PORT" of the client it was told about), "" on EOF.
std::string lineFrom(int fd) {
  std::string line;
  char c = 0;
  while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
  return line;
}

class ProxyChain : public EdgeFixture {
 protected:
  // nginx behind edge-connector behind HAProxy; `haproxy_sends`: "send-proxy-v2" or
  // "send-proxy"; `edge_sends`: "v2" or "v1".
  void start_chain(const std::string& haproxy_sends, const std::string& edge_sends,
                   const std::string& haproxy_bind = "127.0.0.1",
                   std::vector<std::string> extra = {}) {
    nginx_ = std::make_unique<NginxProcess>();
    start_dns(single_target(nginx_->port()));
    std::vector<std::string> args = {"--accept-proxy", "--trusted-proxies", "127.0.0.1",
                                     "--send-proxy", edge_sends};
    args.insert(args.end(), extra.begin(), extra.end());
    start_edge(args);
    haproxy_ = std::make_unique<HaproxyProcess>(
        HaproxyOptions{.bind_address = haproxy_bind,
                       .server = "127.0.0.1:" + std::to_string(edge().port()),
                       .server_options = haproxy_sends});
  }

  // What nginx says about a client from `source` through the chain, and that client's port.
  std::pair<std::string, std::uint16_t> through_chain(const std::string& source,
                                                      const std::string& address = "127.0.0.1") {
    auto fd = connectFrom(source, address, haproxy_->port());
    if (!fd.valid()) return {"<connect failed>", 0};
    return {lineFrom(fd.get()), localPort(fd.get())};
  }

  std::unique_ptr<NginxProcess> nginx_;
  std::unique_ptr<HaproxyProcess> haproxy_;  // declared last: stopped first
};

TEST_F(ProxyChain, ClientAddressSurvivesV2InAndV2Out) {
  start_chain("send-proxy-v2", "v2");
  const auto [line, port] = through_chain("127.0.0.5");
  EXPECT_EQ(line, "127.0.0.5:" + std::to_string(port));
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  EXPECT_EQ(edge().access_log().at(0).get("client"), "127.0.0.5:" + std::to_string(port));
}

TEST_F(ProxyChain, ClientAddressSurvivesV1InAndV1Out) {
  start_chain("send-proxy", "v1");
  const auto [line, port] = through_chain("127.0.0.5");
  EXPECT_EQ(line, "127.0.0.5:" + std::to_string(port));
}

TEST_F(ProxyChain, MixedVersionsV1InV2Out) {
  start_chain("send-proxy", "v2");
  const auto [line, port] = through_chain("127.0.0.7");
  EXPECT_EQ(line, "127.0.0.7:" + std::to_string(port));
}

TEST_F(ProxyChain, Ipv6ClientIsItselfThroughV2) {
  start_chain("send-proxy-v2", "v2", "::1");
  const auto [line, port] = through_chain("::1", "::1");
  EXPECT_EQ(line, "::1:" + std::to_string(port));
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  EXPECT_EQ(edge().access_log().at(0).get("client"), "[::1]:" + std::to_string(port));
}

// --deny and --allow judge the address from the header: HAProxy (127.0.0.1) is allowed, the
// client behind it is not.
TEST_F(ProxyChain, DenyListJudgesTheHeadersAddress) {
  start_chain("send-proxy-v2", "v2", "127.0.0.1", {"--deny", "127.0.0.9"});
  EXPECT_EQ(through_chain("127.0.0.9").first, "");
  const auto [line, port] = through_chain("127.0.0.5");
  EXPECT_EQ(line, "127.0.0.5:" + std::to_string(port));
  ASSERT_TRUE(edge().wait_access_log(2, kIoTimeout));
  // Two workers write their own lines: the order between them is not the connections' order.
  const auto log = edge().access_log();
  ASSERT_EQ(log.size(), 2u);
  const auto& denied = log[0].get("client").rfind("127.0.0.9:", 0) == 0 ? log[0] : log[1];
  const auto& served = &denied == &log[0] ? log[1] : log[0];
  EXPECT_EQ(denied.get("client").rfind("127.0.0.9:", 0), 0u) << denied.get("client");
  EXPECT_EQ(denied.get("close"), "denied");
  EXPECT_EQ(denied.get("target"), "-");
  EXPECT_EQ(served.get("client"), "127.0.0.5:" + std::to_string(port));
  EXPECT_NE(served.get("close"), "denied");
}

}  // namespace
}  // namespace edge::test
