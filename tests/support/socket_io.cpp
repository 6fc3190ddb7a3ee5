#include "socket_io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "socket_util.h"

namespace edge::test {
namespace {

constexpr std::chrono::milliseconds kStopCheck{50};  // how often a stop flag is looked at

IoResult classify_errno(int err) {
  if (err == EPIPE || err == ECONNRESET) return IoResult::reset;
  return IoResult::error;
}

}  // namespace

const char* to_string(IoResult result) {
  switch (result) {
    case IoResult::ok:
      return "ok";
    case IoResult::eof:
      return "eof";
    case IoResult::reset:
      return "reset";
    case IoResult::error:
      return "error";
    case IoResult::timeout:
      return "timeout";
    case IoResult::stopped:
      return "stopped";
  }
  return "?";
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl O_NONBLOCK");
}

IoResult wait_ready(int fd, short events, const Until& until) {
  while (true) {
    if (until.stop != nullptr && until.stop->load()) return IoResult::stopped;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until.deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return IoResult::timeout;
    pollfd pfd{fd, events, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min(left, kStopCheck).count()));
    if (ready > 0) return IoResult::ok;  // includes POLLERR/POLLHUP: the next call reports it
    if (ready < 0 && errno != EINTR) return IoResult::error;
  }
}

IoResult send_all(int fd, const void* data, std::size_t size, const Until& until) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, p, size, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      size -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const IoResult waited = wait_ready(fd, POLLOUT, until);
      if (waited != IoResult::ok) return waited;
      continue;
    }
    return classify_errno(errno);
  }
  return IoResult::ok;
}

IoResult recv_some(int fd, void* data, std::size_t size, std::size_t& got, const Until& until) {
  got = 0;
  while (true) {
    const ssize_t n = ::recv(fd, data, size, 0);
    if (n > 0) {
      got = static_cast<std::size_t>(n);
      return IoResult::ok;
    }
    if (n == 0) return IoResult::eof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      const IoResult waited = wait_ready(fd, POLLIN, until);
      if (waited != IoResult::ok) return waited;
      continue;
    }
    return classify_errno(errno);
  }
}

}  // namespace edge::test
