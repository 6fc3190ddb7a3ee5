#include "client.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "socket_util.h"

namespace edge::test {

std::optional<TcpClient> TcpClient::connect(const std::string& address, std::uint16_t port,
                                            std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw_errno("socket");
  const sockaddr_in sa = ipv4_address(address, port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (errno != EINPROGRESS) return std::nullopt;
    if (wait_ready(fd.get(), POLLOUT, Until::in(timeout)) != IoResult::ok) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      return std::nullopt;
    }
  }
  return TcpClient(std::move(fd));
}

std::uint16_t TcpClient::local_port() const {
  return edge::test::local_port(fd_.get());
}

IoResult TcpClient::write_all(std::string_view data, std::chrono::milliseconds timeout) {
  return send_all(fd_.get(), data.data(), data.size(), Until::in(timeout));
}

void TcpClient::shutdown_write() {
  ::shutdown(fd_.get(), SHUT_WR);
}

std::optional<std::string> TcpClient::read_line(std::chrono::milliseconds timeout) {
  const Until until = Until::in(timeout);
  char buffer[4096];
  while (true) {
    const auto nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    std::size_t got = 0;
    if (recv_some(fd_.get(), buffer, sizeof(buffer), got, until) != IoResult::ok) {
      return std::nullopt;
    }
    buffered_.append(buffer, got);
  }
}

std::optional<std::string> TcpClient::read_until_eof(std::chrono::milliseconds timeout,
                                                     std::size_t limit) {
  const Until until = Until::in(timeout);
  std::string out = std::move(buffered_);
  buffered_.clear();
  char buffer[1 << 14];
  while (out.size() <= limit) {
    std::size_t got = 0;
    const IoResult result = recv_some(fd_.get(), buffer, sizeof(buffer), got, until);
    if (result == IoResult::eof) return out;
    if (result != IoResult::ok) return std::nullopt;
    out.append(buffer, got);
  }
  return std::nullopt;
}

IoResult TcpClient::wait_closed(std::chrono::milliseconds timeout) {
  const Until until = Until::in(timeout);
  char buffer[4096];
  buffered_.clear();
  while (true) {
    std::size_t got = 0;
    const IoResult result = recv_some(fd_.get(), buffer, sizeof(buffer), got, until);
    if (result != IoResult::ok) return result;
  }
}

}  // namespace edge::test
