#include "net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "net/system_error.h"

namespace edge::net {
namespace {

std::error_code setInt(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return systemError(errno);
  }
  return {};
}

}  // namespace

std::error_code setNoDelay(int fd) {
  return setInt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

std::error_code setReadQueueHint(int fd) {
  return setInt(fd, IPPROTO_TCP, TCP_INQ, 1);
}

std::error_code setUrgentInline(int fd) {
  return setInt(fd, SOL_SOCKET, SO_OOBINLINE, 1);
}

bool atUrgentMark(int fd) {
  int mark = 0;
  return ::ioctl(fd, SIOCATMARK, &mark) == 0 && mark != 0;
}

std::error_code setKeepAlive(int fd, std::optional<std::chrono::seconds> idle) {
  if (!idle) return setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 0);
  const auto idle_s = static_cast<int>(std::max<long long>(1, idle->count()));
  if (auto ec = setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1)) return ec;
  if (auto ec = setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s)) return ec;
  if (auto ec = setInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, std::max(1, idle_s / 6))) return ec;
  return setInt(fd, IPPROTO_TCP, TCP_KEEPCNT, 6);
}

std::error_code setUserTimeout(int fd, std::optional<std::chrono::milliseconds> timeout) {
  const auto ms = timeout ? std::clamp<long long>(timeout->count(), 1, INT_MAX) : 0;
  return setInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(ms));
}

std::error_code setResetOnClose(int fd) {
  const linger value{1, 0};
  if (::setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, sizeof value) != 0) {
    return systemError(errno);
  }
  return {};
}

}  // namespace edge::net
