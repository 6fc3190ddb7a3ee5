// connlat: connect + first-byte latency through a proxy to a redis backend.
//
//   connlat seq   --dst IP:PORT --count N --max-seconds S [--timeout-ms T] [--reply-bytes R]
//   connlat burst --dst IP:PORT --conns K --bursts B [--gap-ms G] [--timeout-ms T]
//                 [--reply-bytes R]
//
// One exchange: connect, send "PING\r\n", wait for the first byte of "+PONG\r\n"; the time from
// just before connect() to that byte is the sample. The rest of the reply is read before close
// so the close is a clean FIN, not a reset for unread data. --reply-bytes (default 7, the size
// of "+PONG\r\n") is how many bytes make the whole reply: 1 against idle_hold, whose one-byte
// greeting on accept then is the first byte (a greeting protocol such as SSH or SMTP).
//   seq:   N exchanges one after another, stopping early after S seconds. Prints
//          {"ok":..,"failed":..,"p50_ms":..,"p90_ms":..,"p99_ms":..,"max_ms":..,"mean_ms":..}
//   burst: B bursts of K exchanges started at the same instant (G ms apart), each burst given
//          T ms. A failure is a refused/reset connection, EOF before the byte, or no byte in
//          time. Prints {"worst_ms":..,"failed":..,"total":..,"bursts":[{"worst_ms","failed"}]}
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr char kPing[] = "PING\r\n";
constexpr size_t kReplySize = 7;  // "+PONG\r\n"

struct Options {
  std::string mode;
  sockaddr_in dst{};
  long count = 1000, conns = 50, bursts = 3;
  double max_seconds = 10;
  int timeout_ms = 5000, gap_ms = 1000;
  size_t reply_bytes = kReplySize;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "connlat: %s\nusage: connlat seq --dst IP:PORT --count N --max-seconds S "
               "[--timeout-ms T] [--reply-bytes R]\n       connlat burst --dst IP:PORT --conns K "
               "--bursts B [--gap-ms G] [--timeout-ms T] [--reply-bytes R]\n",
               why);
  std::exit(2);
}

Options parseOptions(int argc, char** argv) {
  if (argc < 2) usage("missing mode");
  Options o;
  o.mode = argv[1];
  bool have_dst = false;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--dst") {
      size_t colon = value.rfind(':');
      if (colon == std::string::npos) usage("--dst needs IP:PORT");
      o.dst.sin_family = AF_INET;
      o.dst.sin_port = htons(static_cast<uint16_t>(std::atoi(value.c_str() + colon + 1)));
      if (::inet_pton(AF_INET, value.substr(0, colon).c_str(), &o.dst.sin_addr) != 1) {
        usage("bad IPv4 address");
      }
      have_dst = true;
    } else if (key == "--count") {
      o.count = std::atol(value.c_str());
    } else if (key == "--conns") {
      o.conns = std::atol(value.c_str());
    } else if (key == "--bursts") {
      o.bursts = std::atol(value.c_str());
    } else if (key == "--max-seconds") {
      o.max_seconds = std::atof(value.c_str());
    } else if (key == "--timeout-ms") {
      o.timeout_ms = std::atoi(value.c_str());
    } else if (key == "--gap-ms") {
      o.gap_ms = std::atoi(value.c_str());
    } else if (key == "--reply-bytes") {
      o.reply_bytes = static_cast<size_t>(std::max(1L, std::atol(value.c_str())));
    } else {
      usage("unknown option");
    }
  }
  if (!have_dst || (o.mode != "seq" && o.mode != "burst")) usage("need a mode and --dst");
  return o;
}

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// One connection's progress through connect -> PING sent -> first byte -> whole reply.
struct Exchange {
  int fd = -1;
  Clock::time_point start;
  bool sent = false;
  size_t received = 0;
  double first_byte_ms = -1;  // set when the first byte arrives
  size_t reply_bytes = kReplySize;
  bool done = false, failed = false;

  void begin(const sockaddr_in& dst, size_t reply) {
    reply_bytes = reply;
    start = Clock::now();
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || (::connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 &&
                   errno != EINPROGRESS)) {
      finish(true);
    }
  }

  short wantedEvents() const { return sent ? POLLIN : POLLOUT; }

  // Called when poll() reports revents for fd.
  void step(short revents) {
    if (!sent) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (revents & (POLLERR | POLLHUP))) return finish(true);
      if (::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL) != sizeof kPing - 1) {
        return finish(true);
      }
      sent = true;
      return;
    }
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) return finish(first_byte_ms < 0);  // EOF/reset: fine only after the byte
    if (first_byte_ms < 0) first_byte_ms = msSince(start);
    received += static_cast<size_t>(n);
    if (received >= reply_bytes) finish(false);
  }

  void finish(bool fail) {
    failed = fail;
    done = true;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Runs the exchanges together until all are done or timeout_ms passed (the rest fail).
void runTogether(std::vector<Exchange>& ex, const Options& o) {
  for (auto& e : ex) e.begin(o.dst, o.reply_bytes);
  const int timeout_ms = o.timeout_ms;
  auto start = Clock::now();
  std::vector<pollfd> fds;
  std::vector<Exchange*> owners;
  for (;;) {
    fds.clear();
    owners.clear();
    for (auto& e : ex) {
      if (e.done) continue;
      fds.push_back({e.fd, e.wantedEvents(), 0});
      owners.push_back(&e);
    }
    double left = timeout_ms - msSince(start);
    if (fds.empty()) return;
    if (left <= 0) {
      for (auto* e : owners) e->finish(true);
      return;
    }
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::ceil(left)));
    if (n < 0 && errno != EINTR) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) owners[i]->step(fds[i].revents);
    }
  }
}

double percentile(std::vector<double> sorted, double p) {
  if (sorted.empty()) return -1;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

int runSequential(const Options& o) {
  std::vector<double> samples;
  long failed = 0;
  auto start = Clock::now();
  for (long i = 0; i < o.count && msSince(start) < o.max_seconds * 1000; ++i) {
    std::vector<Exchange> one(1);
    runTogether(one, o);
    if (one[0].failed) {
      ++failed;
    } else {
      samples.push_back(one[0].first_byte_ms);
    }
  }
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double s : samples) sum += s;
  std::printf(
      "{\"ok\":%zu,\"failed\":%ld,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,"
      "\"max_ms\":%.4f,\"mean_ms\":%.4f,\"seconds\":%.3f}\n",
      samples.size(), failed, percentile(samples, 0.50), percentile(samples, 0.90),
      percentile(samples, 0.99), samples.empty() ? -1 : samples.back(),
      samples.empty() ? -1 : sum / static_cast<double>(samples.size()), msSince(start) / 1000);
  return 0;
}

int runBursts(const Options& o) {
  double worst = 0;
  long failed_total = 0;
  std::string per_burst;
  for (long b = 0; b < o.bursts; ++b) {
    if (b > 0) ::usleep(static_cast<useconds_t>(o.gap_ms) * 1000);
    std::vector<Exchange> ex(static_cast<size_t>(o.conns));
    runTogether(ex, o);
    double burst_worst = 0;
    long burst_failed = 0;
    for (auto& e : ex) {
      if (e.failed) {
        ++burst_failed;
      } else {
        burst_worst = std::max(burst_worst, e.first_byte_ms);
      }
    }
    worst = std::max(worst, burst_worst);
    failed_total += burst_failed;
    char item[96];
    std::snprintf(item, sizeof item, "%s{\"worst_ms\":%.3f,\"failed\":%ld}", b ? "," : "",
                  burst_worst, burst_failed);
    per_burst += item;
  }
  std::printf("{\"worst_ms\":%.3f,\"failed\":%ld,\"total\":%ld,\"bursts\":[%s]}\n", worst,
              failed_total, o.conns * o.bursts, per_burst.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parseOptions(argc, argv);
  return o.mode == "seq" ? runSequential(o) : runBursts(o);
}
