#include "app/healthcheck.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"
#include "net/endpoint.h"

namespace edge::app {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxAnswer = 8192;  // status line, headers and the start of the body

struct Args {
  std::optional<std::string> admin;
  bool ready = false;
};

const char* const kUsage =
    "usage: edge-connector healthcheck [--admin ADDR:PORT] [--ready]\n"
    "  GET /healthz (or /ready with --ready) from the admin endpoint (--admin, EDGE_ADMIN,\n"
    "  default 127.0.0.1:9901); exit 0 on HTTP 200, 1 otherwise, within 2 s.\n";

int fail(const std::string& what) {
  std::fprintf(stderr, "healthcheck: %s\n", what.c_str());
  return 1;
}

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Closes the descriptor on every path out.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) ::close(fd);
  }
};

// Waits for `events` on fd until the deadline. False on timeout.
bool waitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  while (true) {
    const int n = ::poll(&p, 1, remainingMs(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string sinceText(Clock::time_point start) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return std::to_string(ms.count()) + " ms";
}

// The first line of the body, trimmed, at most 200 bytes (it is printed).
std::string firstBodyLine(std::string_view answer) {
  const auto at = answer.find("\r\n\r\n");
  if (at == std::string_view::npos) return "";
  auto body = answer.substr(at + 4);
  body = body.substr(0, std::min(body.find_first_of("\r\n"), size_t{200}));
  std::string out;
  for (char c : body) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

int healthcheck(int argc, const char* const* argv, const config::EnvLookup& env) {
  const auto start = Clock::now();
  const auto deadline = start + kHealthcheckDeadline;
  Args args;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--ready") {
      args.ready = true;
    } else if (arg == "--admin" && i + 1 < argc) {
      args.admin = argv[++i];
    } else if (arg.starts_with("--admin=")) {
      args.admin = std::string(arg.substr(8));
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fputs(kUsage, stderr);
      return fail("unknown argument '" + std::string(arg) + "'");
    }
  }
  std::string source = "--admin";
  if (!args.admin) {
    if (const char* value = env("EDGE_ADMIN"); value && *value) {
      args.admin = value;
      source = "EDGE_ADMIN";
    }
  }

  std::optional<net::Endpoint> target = config::Config{}.admin;
  if (args.admin) {
    std::string lower;
    for (char c : *args.admin)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "off") return fail(source + " is off: no admin endpoint to ask");
    const auto hp = net::parseHostPort(*args.admin, /*allow_bare_port=*/false);
    if (!hp || !hp->address || !hp->port) {
      return fail(source + " '" + *args.admin + "' is not ADDR:PORT (ADDR an IP address)");
    }
    target = net::Endpoint(*hp->address, *hp->port);
  }
  // A wildcard listens on loopback too; that is where this process (same host) can reach it.
  if (target->address().is_unspecified()) {
    target->address(target->address().is_v4()
                        ? asio::ip::address(asio::ip::address_v4::loopback())
                        : asio::ip::address(asio::ip::address_v6::loopback()));
  }
  const std::string path = args.ready ? "/ready" : "/healthz";
  const std::string url = "http://" + net::format(*target) + path;

  Socket sock;
  sock.fd = ::socket(target->address().is_v4() ? AF_INET : AF_INET6,
                     SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (sock.fd < 0) return fail(url + ": socket: " + std::strerror(errno));
  if (::connect(sock.fd, target->data(), static_cast<socklen_t>(target->size())) != 0) {
    if (errno != EINPROGRESS) return fail(url + ": cannot connect: " + std::strerror(errno));
    if (!waitFor(sock.fd, POLLOUT, deadline)) {
      return fail(url + ": no connection within " + sinceText(start));
    }
    int error = 0;
    socklen_t len = sizeof(error);
    ::getsockopt(sock.fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return fail(url + ": cannot connect: " + std::strerror(error));
  }

  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + net::format(*target) +
                              "\r\nUser-Agent: edge-connector-healthcheck\r\n"
                              "Connection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return fail(url + ": send: " + std::strerror(errno));
    } else if (!waitFor(sock.fd, POLLOUT, deadline)) {
      return fail(url + ": request not sent within " + sinceText(start));
    }
  }

  // Read to the end (Connection: close) or kMaxAnswer; the status line decides.
  std::string answer;
  char buffer[2048];
  bool timed_out = false;
  while (answer.size() < kMaxAnswer) {
    const ssize_t n = ::recv(sock.fd, buffer, sizeof(buffer), 0);
    if (n > 0) {
      answer.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EAGAIN && errno != EINTR) {
      if (answer.empty()) return fail(url + ": receive: " + std::strerror(errno));
      break;
    } else if (!waitFor(sock.fd, POLLIN, deadline)) {
      timed_out = true;
      break;
    }
  }
  // "HTTP/1.1 200 OK": the three digits after the first space.
  const auto line_end = answer.find("\r\n");
  const auto space = answer.find(' ');
  if (line_end == std::string::npos || space == std::string::npos || space + 4 > line_end ||
      !answer.starts_with("HTTP/")) {
    return fail(
        url + (timed_out ? ": no HTTP answer within " + sinceText(start) : ": not an HTTP answer"));
  }
  const std::string status = answer.substr(space + 1, 3);
  const std::string body = firstBodyLine(answer);
  const std::string said = status + (body.empty() ? "" : " " + body);
  if (status != "200") return fail(url + ": " + said);
  std::printf("%s: %s\n", url.c_str(), said.c_str());
  return 0;
}

}  // namespace edge::app
