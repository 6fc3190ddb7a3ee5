// idle_open: opens many connections, checks each one reached the backend, then holds them.
//
//   idle_open --dst IP:PORT[,IP:PORT...] [--src IP[,IP...]] --count N
//             [--inflight K] [--timeout SECONDS] [--hold-max SECONDS]
//
// Connections are spread round-robin over the destinations and source addresses (several source
// addresses avoid running out of ephemeral ports: each (source IP, destination) pair has at most
// ~64k). At most K connects are in flight at once. A connection counts as established when the
// backend's greeting byte arrived (idle_hold sends one on accept), which proves the proxy
// connected it through. When every connection is established or failed, or the timeout passed,
// one JSON line goes to stdout:
//   {"requested":N,"established":E,"failed":F,"timed_out":T,"seconds":S}
// Then the connections are held until stdin reaches EOF (or --hold-max passes); connections
// the other side closes meanwhile are counted, and a second line reports
//   {"still_open":O,"dropped":D}
// Every connection is closed with a reset (SO_LINGER 0) when the tool exits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

enum class State : unsigned char { kFree, kConnecting, kAwaitingByte, kHeld };

struct Options {
  std::vector<sockaddr_in> dst;
  std::vector<in_addr> src;
  long count = 0;
  long inflight = 256;
  double timeout_s = 60;
  double hold_max_s = 600;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "idle_open: %s\nusage: idle_open --dst IP:PORT[,..] [--src IP[,..]] --count N "
               "[--inflight K] [--timeout S] [--hold-max S]\n",
               why);
  std::exit(2);
}

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    parts.push_back(s.substr(start, comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

sockaddr_in parseEndpoint(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) usage("endpoint needs IP:PORT");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, text.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    usage("bad IPv4 address");
  }
  return addr;
}

Options parseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--dst") {
      for (auto& part : splitComma(value)) o.dst.push_back(parseEndpoint(part));
    } else if (key == "--src") {
      for (auto& part : splitComma(value)) {
        in_addr a{};
        if (::inet_pton(AF_INET, part.c_str(), &a) != 1) usage("bad --src address");
        o.src.push_back(a);
      }
    } else if (key == "--count") {
      o.count = std::atol(value.c_str());
    } else if (key == "--inflight") {
      o.inflight = std::atol(value.c_str());
    } else if (key == "--timeout") {
      o.timeout_s = std::atof(value.c_str());
    } else if (key == "--hold-max") {
      o.hold_max_s = std::atof(value.c_str());
    } else {
      usage("unknown option");
    }
  }
  if (o.dst.empty() || o.count <= 0 || o.inflight <= 0) usage("need --dst and --count");
  return o;
}

void raiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class Opener {
 public:
  explicit Opener(Options options) : o_(std::move(options)) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) usage("epoll_create1 failed");
  }

  // Opens every connection (bounded by the timeout) and prints the first JSON line.
  void open() {
    auto start = Clock::now();
    bool can_start = true;
    while ((started_ < o_.count && can_start) || in_flight_ > 0) {
      if (secondsSince(start) > o_.timeout_s) break;
      while (can_start && started_ < o_.count && in_flight_ < o_.inflight) {
        can_start = startOne();
      }
      poll(100);
    }
    long timed_out = in_flight_;
    closeUnfinished();
    std::printf(
        "{\"requested\":%ld,\"established\":%ld,\"failed\":%ld,\"timed_out\":%ld,"
        "\"seconds\":%.3f}\n",
        o_.count, held_, failed_ + (o_.count - started_), timed_out, secondsSince(start));
    std::fflush(stdout);
  }

  // Holds the established connections until stdin closes; prints the second JSON line.
  void hold() {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = 0;
    bool watch_stdin = ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, 0, &ev) == 0;
    auto start = Clock::now();
    stdin_closed_ = false;
    while (!stdin_closed_ && secondsSince(start) < o_.hold_max_s) {
      poll(watch_stdin ? 1000 : 100);
    }
    std::printf("{\"still_open\":%ld,\"dropped\":%ld}\n", held_, dropped_);
    std::fflush(stdout);
  }

 private:
  // Starts connection number started_; false when no more can be started (out of descriptors).
  bool startOne() {
    const sockaddr_in& dst = o_.dst[started_ % o_.dst.size()];
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      std::fprintf(stderr, "idle_open: socket: %s\n", std::strerror(errno));
      return false;
    }
    // Close with a reset at the end: no TIME_WAIT sockets (here or, through the proxy's reset,
    // at the proxy) whose memory would be released during the next measurement.
    linger no_linger{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
    if (!o_.src.empty()) {
      // Choose the port at connect() time, per destination, not at bind() time per source.
      int one = 1;
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr = o_.src[(started_ / o_.dst.size()) % o_.src.size()];
      if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
        ++started_;
        fail(fd);
        return true;
      }
    }
    ++started_;
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst);
    if (rc != 0 && errno != EINPROGRESS) {
      fail(fd);
      return true;
    }
    track(fd, State::kConnecting, EPOLLOUT);
    ++in_flight_;
    return true;
  }

  // After the timeout: connections still connecting or waiting for their byte are given up.
  void closeUnfinished() {
    for (size_t fd = 0; fd < state_.size(); ++fd) {
      if (state_[fd] == State::kConnecting || state_[fd] == State::kAwaitingByte) {
        forget(static_cast<int>(fd));
      }
    }
    in_flight_ = 0;
  }

  void track(int fd, State state, uint32_t events) {
    if (static_cast<size_t>(fd) >= state_.size()) state_.resize(fd * 2 + 1024, State::kFree);
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP;
    ev.data.fd = fd;
    int op = state_[fd] == State::kFree ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    state_[fd] = state;
    ::epoll_ctl(epoll_fd_, op, fd, &ev);
  }

  void fail(int fd) {
    ++failed_;
    forget(fd);
  }

  void forget(int fd) {
    if (static_cast<size_t>(fd) < state_.size()) state_[fd] = State::kFree;
    ::close(fd);  // also leaves the epoll set
  }

  void poll(int timeout_ms) {
    epoll_event events[512];
    int n = ::epoll_wait(epoll_fd_, events, 512, timeout_ms);
    for (int i = 0; i < n; ++i) handle(events[i].data.fd, events[i].events);
  }

  void handle(int fd, uint32_t events) {
    if (fd == 0) {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0) stdin_closed_ = true;
      return;
    }
    switch (state_[fd]) {
      case State::kConnecting: {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          --in_flight_;
          fail(fd);
        } else {
          track(fd, State::kAwaitingByte, EPOLLIN);
        }
        return;
      }
      case State::kAwaitingByte: {
        char byte;
        ssize_t n = ::read(fd, &byte, 1);
        if (n < 0 && errno == EAGAIN) return;
        --in_flight_;
        if (n == 1) {
          ++held_;
          state_[fd] = State::kHeld;  // still watched: a close by the other side is counted
        } else {
          fail(fd);
        }
        return;
      }
      case State::kHeld: {
        char buf[64];
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0 || (n < 0 && errno == EAGAIN && !(events & (EPOLLRDHUP | EPOLLHUP)))) return;
        --held_;
        ++dropped_;
        forget(fd);
        return;
      }
      case State::kFree:
        return;
    }
  }

  Options o_;
  int epoll_fd_ = -1;
  std::vector<State> state_;
  long started_ = 0, in_flight_ = 0, held_ = 0, failed_ = 0, dropped_ = 0;
  bool stdin_closed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parseOptions(argc, argv);
  raiseFileLimit();
  Opener opener(std::move(options));
  opener.open();
  opener.hold();
  return 0;
}
