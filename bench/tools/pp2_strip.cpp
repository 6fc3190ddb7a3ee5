// LD_PRELOAD shim for the bench's edge-connector+pp2 contender: makes an unmodified backend
// (iperf3, redis-server, nginx, idle_hold) accept connections that start with a PROXY v2 header,
// as edge-connector --send-proxy v2 sends. After each accept()/accept4(), it peeks at the first
// 16 bytes; if they are the v2 signature, it reads and drops 16 + length bytes, so the program
// sees only the client's bytes. Anything else (a readiness probe without a header) is left
// untouched once it differs from the signature, or after a short wait if nothing arrives. The
// sender writes the header at connect, so it is normally in the socket before accept returns:
// the skip costs one peek and one read.
// Build: g++ -std=c++20 -O2 -shared -fPIC -o pp2_strip.so pp2_strip.cpp -ldl
#include <dlfcn.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace {

constexpr unsigned char kSignature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr int kWaitMs = 300;  // for a connection with no header (probes): then it is passed on

long nowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Waits (bounded) until fd is readable; false when the time is up.
bool waitReadable(int fd, long deadline) {
  const long left = deadline - nowMs();
  if (left <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

void skipHeader(int fd) {
  const long deadline = nowMs() + kWaitMs;
  unsigned char head[16];
  for (;;) {
    const ssize_t n = ::recv(fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(sizeof(head))) break;
    if (n == 0) return;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return;
    if (n > 0 && std::memcmp(head, kSignature, std::min<size_t>(n, sizeof(kSignature))) != 0) {
      return;  // not a PROXY v2 header
    }
    if (!waitReadable(fd, deadline)) return;
  }
  if (std::memcmp(head, kSignature, sizeof(kSignature)) != 0) return;
  size_t left = 16 + (static_cast<size_t>(head[14]) << 8 | head[15]);
  unsigned char sink[4096];
  while (left > 0) {
    const ssize_t n = ::recv(fd, sink, left < sizeof(sink) ? left : sizeof(sink), MSG_DONTWAIT);
    if (n > 0) {
      left -= static_cast<size_t>(n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
               !waitReadable(fd, deadline)) {
      return;
    }
  }
}

using AcceptFn = int (*)(int, sockaddr*, socklen_t*);
using Accept4Fn = int (*)(int, sockaddr*, socklen_t*, int);

}  // namespace

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) {
  static const auto real = reinterpret_cast<AcceptFn>(dlsym(RTLD_NEXT, "accept"));
  const int client = real(fd, addr, len);
  if (client >= 0) {
    const int saved = errno;
    skipHeader(client);
    errno = saved;
  }
  return client;
}

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  static const auto real = reinterpret_cast<Accept4Fn>(dlsym(RTLD_NEXT, "accept4"));
  const int client = real(fd, addr, len, flags);
  if (client >= 0) {
    const int saved = errno;
    skipHeader(client);
    errno = saved;
  }
  return client;
}
