#include "manual_backend.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "run_until.h"
#include "socket_util.h"

namespace edge::test {

ManualBackend::ManualBackend() {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_.valid()) throw_errno("socket");
  const sockaddr_in sa = ipv4_address("127.0.0.1", 0);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    throw_errno("bind");
  }
  if (::listen(listener_.get(), 512) != 0) throw_errno("listen");
  port_ = local_port(listener_.get());
}

UniqueFd ManualBackend::accept_one(std::chrono::milliseconds deadline) {
  UniqueFd connection;
  run_until(
      [&] {
        connection.reset(
            ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        return connection.valid();
      },
      deadline, std::chrono::milliseconds(2));
  return connection;
}

std::uint64_t fill_until_blocked(int fd, std::chrono::milliseconds quiet,
                                 std::chrono::milliseconds deadline) {
  std::vector<char> chunk(1 << 16, 'f');
  std::uint64_t sent = 0;
  auto last_progress = std::chrono::steady_clock::now();
  run_until(
      [&] {
        for (;;) {
          const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          if (n <= 0) break;
          sent += static_cast<std::uint64_t>(n);
          last_progress = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - last_progress >= quiet;
      },
      deadline, std::chrono::milliseconds(5));
  return sent;
}

void close_with_reset(UniqueFd& fd) {
  const linger hard{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  fd.reset();
}

int tcp_state(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return -1;
  return info.tcpi_state;
}

bool wait_reset(int fd, std::chrono::milliseconds deadline) {
  return run_until(
      [&] {
        pollfd p{fd, 0, 0};  // POLLERR: an error (ECONNRESET) is pending
        return (::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0) || tcp_state(fd) == TCP_CLOSE;
      },
      deadline);
}

}  // namespace edge::test
