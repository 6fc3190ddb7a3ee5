// TCP keepalive reaches both of the proxy's sockets of a connection: the client side inherits
// it from the listening socket (no setsockopt per accept), the target side sets it after
// connect. `ss -o` shows each socket's keepalive timer.
#include <gtest/gtest.h>

#include <sstream>

#include "edge_fixture.h"

namespace edge::test {
namespace {

using SocketOptions = EdgeFixture;

// The `ss -tnoH` line ("RECV-Q SEND-Q LOCAL PEER [timer:...]") of the socket whose local
// and/or peer address ("127.0.0.1:PORT") match; an empty filter matches anything. "" if none.
std::string socketLine(const std::vector<std::string>& lines, const std::string& local,
                       const std::string& peer) {
  for (const auto& line : lines) {
    std::istringstream fields(line);
    std::string recv_q, send_q, l, p;
    fields >> recv_q >> send_q >> l >> p;
    if ((local.empty() || l == local) && (peer.empty() || p == peer)) return line;
  }
  return "";
}

TEST_F(SocketOptions, BothProxySocketsOfAConnectionHaveKeepalive) {
  const Backend& backend = start_with_echo_backend({"--keepalive", "42s"});

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "echo");  // connected end to end

  Subprocess ss({.argv = {"ss", "-tnoH", "state", "established"}});
  ASSERT_EQ(ss.wait_exit(kIoTimeout), 0);
  const auto lines = ss.lines_out();
  const std::string edge_side = "127.0.0.1:" + std::to_string(edge().port());
  const std::string client_side = "127.0.0.1:" + std::to_string(client->local_port());
  const std::string accepted = socketLine(lines, edge_side, client_side);
  ASSERT_FALSE(accepted.empty()) << "no socket " << edge_side << " -> " << client_side;
  EXPECT_NE(accepted.find("timer:(keepalive"), std::string::npos) << accepted;

  const std::string backend_side = "127.0.0.1:" + std::to_string(backend.port());
  const std::string outbound = socketLine(lines, "", backend_side);  // the proxy's
  ASSERT_FALSE(outbound.empty()) << "no socket to " << backend_side;
  EXPECT_NE(outbound.find("timer:(keepalive"), std::string::npos) << outbound;
}

}  // namespace
}  // namespace edge::test
