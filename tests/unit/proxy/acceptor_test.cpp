// The acceptor on a real loopback listener, driven by hand so the drain race is exact.
#include "proxy/acceptor.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/ip/tcp.hpp>
#include <cerrno>
#include <vector>

namespace edge::proxy {
namespace {

// A connection accepted in the same loop pass as close() (SIGTERM's drain) is closed, not left
// open for a client that would wait until the process exits.
TEST(Acceptor, AConnectionAcceptedAsTheListenerClosesIsClosedNotLeaked) {
  asio::io_context io(1);
  asio::ip::tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
  const auto endpoint = listener.local_endpoint();
  int served = 0;
  Acceptor acceptor(
      io, std::move(listener), [&](net::Socket, const net::Endpoint&) { ++served; },
      [](net::Socket, const net::Endpoint&) {});

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
  Acceptor acceptor(
      io, std::move(listener),
      [&](net::Socket socket, const net::Endpoint&) {
        served.push_back(std::move(socket));
        if (served.size() == 3) io.stop();
      },
      [](net::Socket, const net::Endpoint&) {});
  std::vector<asio::ip::tcp::socket> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(io).connect(endpoint);
  acceptor.start();
  io.run_for(std::chrono::seconds(2));
  EXPECT_EQ(served.size(), 3u);
}

// Out of descriptors, accept() fails with EMFILE and the client would wait in the queue until
// one frees: the reserve descriptor takes each client off the queue to be closed at once.
TEST(Acceptor, OutOfDescriptorsEveryQueuedClientIsRefusedAtOnceNotLeftWaiting) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizer runtimes need descriptors of their own (UBSan's vptr check opens a pipe to
  // probe memory): with the table full they report errors that are not the code's.
  GTEST_SKIP() << "needs a full descriptor table, which the sanitizer runtimes cannot work with";
#endif
  asio::io_context io(1);
  asio::ip::tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
  const auto endpoint = listener.local_endpoint();
  int served = 0;
  int refused = 0;
  Acceptor acceptor(
      io, std::move(listener), [&](net::Socket, const net::Endpoint&) { ++served; },
      [&](net::Socket, const net::Endpoint&) {  // the socket closes as it goes out of scope
        if (++refused == 3) io.stop();
      });
  std::vector<asio::ip::tcp::socket> clients;
  for (int i = 0; i < 3; ++i) clients.emplace_back(io).connect(endpoint);

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  std::vector<int> fillers;  // fill the descriptor table: accept4() now fails with EMFILE
  rlimit low = saved;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (int fd; (fd = ::dup(0)) >= 0;) fillers.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  acceptor.start();
  io.run_for(std::chrono::seconds(2));
  for (int fd : fillers) ::close(fd);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);

  EXPECT_EQ(served, 0);
  EXPECT_EQ(refused, 3);
  for (auto& client : clients) {
    pollfd p{client.native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1) << "a client still waits in the accept queue";
    char byte = 0;
    EXPECT_EQ(::recv(client.native_handle(), &byte, 1, 0), 0);
  }
}

}  // namespace
}  // namespace edge::proxy
