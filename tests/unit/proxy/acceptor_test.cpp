// The acceptor on a real loopback listener, driven by hand so the drain race is exact.
#include "proxy/acceptor.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>

namespace edge::proxy {
namespace {

// A connection accepted in the same loop pass as close() (SIGTERM's drain) is closed, not left
// open for a client that would wait until the process exits.
TEST(Acceptor, AConnectionAcceptedAsTheListenerClosesIsClosedNotLeaked) {
  asio::io_context io(1);
  asio::ip::tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
  const auto endpoint = listener.local_endpoint();
  int served = 0;
  Acceptor acceptor(io, std::move(listener), [&](net::Socket, const net::Endpoint&) { ++served; });

  asio::ip::tcp::socket client(io);
  client.connect(endpoint);  // queued by the kernel: the first attempt takes it at once
  acceptor.start();          // accepted now; the completion waits for the loop
  acceptor.close();          // the drain, in the same pass
  io.run_for(std::chrono::seconds(1));
  EXPECT_EQ(served, 0);

  pollfd p{client.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1) << "the client still waits: its connection leaked";
  char byte = 0;
  EXPECT_EQ(::recv(client.native_handle(), &byte, 1, 0), 0);  // closed (FIN)
}

TEST(Acceptor, HandsOverEveryQueuedConnection) {
  asio::io_context io(1);
  asio::ip::tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
  const auto endpoint = listener.local_endpoint();
  std::vector<net::Socket> served;
  Acceptor acceptor(io, std::move(listener), [&](net::Socket socket, const net::Endpoint&) {
    served.push_back(std::move(socket));
    if (served.size() == 3) io.stop();
  });
  std::vector<asio::ip::tcp::socket> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(io).connect(endpoint);
  acceptor.start();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(served.size(), 3u);
}

}  // namespace
}  // namespace edge::proxy
