// test_backend: a backend in its own process, so that a test can SIGKILL it, stop it or start
// it again on the same port, and so that thousands of connections cost one thread (one epoll
// loop) instead of one thread each.
//
//   test_backend [--listen ADDR:PORT] [--mode echo|source|silent] [--greet TEXT]
//                [--bytes N] [--seed S]
//
// Every connection first gets TEXT (written as given, newline included if the caller put one
// in), then:
//   echo    echoes everything; after the client's FIN and the last echoed byte, FIN.
//   source  sends N bytes of ByteStream(S), then FIN; reads (and hashes) until the client's FIN.
//   silent  never writes (not even the greeting): a port that accepts but whose service hangs.
// stdout: "listening ADDR:PORT" once listening, then one logfmt line per finished connection:
//   closed bytes_in=N hash_in=H bytes_out=N hash_out=H end=eof|reset
// (hash_out covers what followed the greeting, so it compares with stream_hash(S, N)).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "byte_stream.h"

namespace {

using edge::test::ByteStream;
using edge::test::Fnv1a64;

enum class Mode { echo, source, silent };

struct Options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  Mode mode = Mode::echo;
  std::string greet;
  std::uint64_t bytes = 0;
  std::uint64_t seed = 0;
};

constexpr std::size_t kChunk = 1 << 16;

struct Connection {
  explicit Connection(int descriptor, std::uint64_t seed) : fd(descriptor), stream(seed) {}
  int fd;
  std::string greeting;  // sent first, not counted in hash_out
  std::size_t greeting_sent = 0;
  std::string out;  // queued for sending after the greeting: echo, or the next source chunk
  std::size_t out_sent = 0;
  std::uint64_t source_left = 0;
  ByteStream stream;
  Fnv1a64 in, sent;
  bool read_eof = false;
  bool write_shut = false;
  std::uint32_t interest = 0;
};

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "test_backend: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      o.address = value.substr(0, colon);
      o.port = static_cast<std::uint16_t>(std::stoul(value.substr(colon + 1)));
    } else if (flag == "--mode") {
      o.mode = value == "source" ? Mode::source : value == "silent" ? Mode::silent : Mode::echo;
    } else if (flag == "--greet") {
      o.greet = value;
    } else if (flag == "--bytes") {
      o.bytes = std::stoull(value);
    } else if (flag == "--seed") {
      o.seed = std::stoull(value);
    } else {
      std::fprintf(stderr, "test_backend: unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return o;
}

class Server {
 public:
  explicit Server(Options options) : options_(std::move(options)) {}

  void run() {
    listen();
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listener_;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev) != 0) die("epoll_ctl");
    std::vector<epoll_event> events(1024);
    while (true) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == listener_) {
          accept_all();
        } else {
          step(events[i].data.fd);
        }
      }
    }
  }

 private:
  void listen() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listener_ < 0) die("socket");
    // The test may start a backend again on the port of one it killed (TIME_WAIT leftovers).
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(options_.port);
    if (::inet_pton(AF_INET, options_.address.c_str(), &sa.sin_addr) != 1) die("address");
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) die("bind");
    if (::listen(listener_, 4096) != 0) die("listen");
    socklen_t len = sizeof sa;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len);
    std::printf("listening %s:%u\n", options_.address.c_str(), ntohs(sa.sin_port));
    std::fflush(stdout);
  }

  void accept_all() {
    while (true) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors: the rest wait in the queue
      auto c = std::make_unique<Connection>(fd, options_.seed);
      if (options_.mode != Mode::silent) c->greeting = options_.greet;
      if (options_.mode == Mode::source) c->source_left = options_.bytes;
      epoll_event ev{};
      ev.data.fd = fd;
      if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl add");
      Connection& ref = *c;
      connections_[fd] = std::move(c);
      step(ref.fd);
    }
  }

  // Reads and writes what the socket allows, then updates the epoll interest or closes.
  void step(int fd) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& c = *it->second;
    const bool ok = write_some(c) && read_some(c) && write_some(c);
    if (!ok) return finish(c, "reset");
    if (!c.write_shut && c.greeting_sent == c.greeting.size() && c.out.empty() &&
        c.source_left == 0 && (options_.mode == Mode::source || c.read_eof)) {
      ::shutdown(c.fd, SHUT_WR);
      c.write_shut = true;
    }
    if (c.read_eof && c.write_shut) return finish(c, "eof");
    std::uint32_t interest = 0;
    if (!c.read_eof && c.out.size() < kChunk) interest |= EPOLLIN;
    if (c.greeting_sent < c.greeting.size() || !c.out.empty() || c.source_left > 0) {
      interest |= EPOLLOUT;
    }
    if (interest != c.interest) {
      epoll_event ev{};
      ev.events = interest;
      ev.data.fd = c.fd;
      if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev) != 0) die("epoll_ctl mod");
      c.interest = interest;
    }
  }

  bool read_some(Connection& c) {
    char buffer[kChunk];
    while (!c.read_eof && c.out.size() < kChunk) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.update({reinterpret_cast<const std::uint8_t*>(buffer), static_cast<std::size_t>(n)});
        if (options_.mode == Mode::echo) c.out.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        c.read_eof = true;
      } else {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      }
    }
    return true;
  }

  bool write_some(Connection& c) {
    while (c.greeting_sent < c.greeting.size()) {
      const ssize_t n = ::send(c.fd, c.greeting.data() + c.greeting_sent,
                               c.greeting.size() - c.greeting_sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.greeting_sent += static_cast<std::size_t>(n);
    }
    while (true) {
      if (c.out.empty()) {
        if (c.source_left == 0) return true;
        const std::size_t size = c.source_left < kChunk ? c.source_left : kChunk;
        c.out.resize(size);
        c.stream.fill({reinterpret_cast<std::uint8_t*>(c.out.data()), size});
        c.source_left -= size;
      }
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.sent.update({reinterpret_cast<const std::uint8_t*>(c.out.data()) + c.out_sent,
                     static_cast<std::size_t>(n)});
      c.out_sent += static_cast<std::size_t>(n);
      if (c.out_sent == c.out.size()) {
        c.out.clear();
        c.out_sent = 0;
      }
    }
  }

  void finish(Connection& c, const char* end) {
    std::printf("closed bytes_in=%llu hash_in=%llu bytes_out=%llu hash_out=%llu end=%s\n",
                static_cast<unsigned long long>(c.in.size()),
                static_cast<unsigned long long>(c.in.hash()),
                static_cast<unsigned long long>(c.sent.size()),
                static_cast<unsigned long long>(c.sent.hash()), end);
    std::fflush(stdout);
    const int fd = c.fd;
    ::close(fd);  // also removes it from the epoll set
    connections_.erase(fd);
  }

  Options options_;
  int listener_ = -1;
  int epoll_ = -1;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
};

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  // Thousands of connections: take every descriptor the hard limit allows.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  Server(parse(argc, argv)).run();
}
