// idle_hold: the backend for the idle-connection benchmarks.
//
//   idle_hold PORT [PORT...]
//
// Listens on 127.0.0.1:PORT for every PORT, accepts every connection, writes one byte ('!') to
// it at once and then keeps it open, discarding anything it reads, until the peer closes it.
// The byte lets the client know the connection went through the proxy end to end (a proxy
// accepts before it has connected to a backend). Prints "ready" on stdout once every port
// listens; runs until killed. One epoll loop, no per-connection state besides the descriptor.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "idle_hold: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

// Every held connection costs a descriptor: take the whole hard limit.
void raiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int listenOn(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
  if (::listen(fd, 65535) != 0) die("listen");  // the kernel caps it at somaxconn
  return fd;
}

// Accepts until the queue is empty; each new connection gets its byte and joins the epoll set.
void acceptAll(int epoll_fd, int listen_fd) {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) std::fprintf(stderr, "idle_hold: out of fds\n");
      return;  // EAGAIN (queue empty) or an error worth no more than a retry next time
    }
    if (::write(fd, "!", 1) != 1) {
      ::close(fd);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) ::close(fd);
  }
}

// Reads and drops whatever arrived; closes on EOF or error.
void drain(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    ::close(fd);  // closing also removes it from the epoll set
    return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: idle_hold PORT [PORT...]\n");
    return 2;
  }
  raiseFileLimit();
  int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) die("epoll_create1");
  std::vector<int> listeners;
  for (int i = 1; i < argc; ++i) {
    int fd = listenOn(std::atoi(argv[i]));
    listeners.push_back(fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }
  std::printf("ready\n");
  std::fflush(stdout);

  std::vector<epoll_event> events(1024);
  for (;;) {
    int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      bool is_listener = false;
      for (int l : listeners) is_listener = is_listener || l == fd;
      if (is_listener) {
        acceptAll(epoll_fd, fd);
      } else {
        drain(fd);
      }
    }
  }
}
