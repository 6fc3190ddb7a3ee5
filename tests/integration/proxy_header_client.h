// Raw clients for the --accept-proxy tests: a connection from a chosen source address (127.0.0.5,
// ::1), bytes written as given (a PROXY header, pieces of one, garbage), and the helpers to
// build headers and find a connection's access-log record. Header-only, test main thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "edge_process.h"
#include "logfmt.h"
#include "run_until.h"
#include "socket_io.h"
#include "unique_fd.h"

namespace edge::test {

class RawClient {
 public:
  // Connects from `source` (port 0: any) to `address`:`port`; nullopt if that fails.
  static std::optional<RawClient> connect(const std::string& source, const std::string& address,
                                          std::uint16_t port) {
    sockaddr_storage from{}, to{};
    socklen_t length = 0;
    const bool v6 = address.find(':') != std::string::npos;
    if (!fill(source, 0, from, length) || !fill(address, port, to, length)) return std::nullopt;
    UniqueFd fd(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return std::nullopt;
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // a write, a segment
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), length) != 0) return std::nullopt;
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), length) != 0) return std::nullopt;
    set_nonblocking(fd.get());
    return RawClient(std::move(fd));
  }

  int fd() const { return fd_.get(); }
  std::uint16_t local_port() const {
    sockaddr_storage sa{};
    socklen_t length = sizeof sa;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &length);
    return ntohs(sa.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&sa)->sin_port);
  }

  IoResult write(std::string_view data, std::chrono::milliseconds timeout = kTimeout) {
    return send_all(fd_.get(), data.data(), data.size(), Until::in(timeout));
  }
  void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }
  // Closes with a reset (SO_LINGER 0).
  void reset() {
    const linger l{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fd_ = UniqueFd();
  }

  // Reads until the stream holds at least `size` bytes, or it ends, or `timeout`.
  std::string read_at_least(std::size_t size, std::chrono::milliseconds timeout = kTimeout) {
    const auto until = Until::in(timeout);
    while (received_.size() < size) {
      char buffer[16384];
      std::size_t got = 0;
      last_ = recv_some(fd_.get(), buffer, sizeof buffer, got, until);
      if (last_ != IoResult::ok) break;
      received_.append(buffer, got);
    }
    return received_;
  }
  // Everything until the peer ends the stream: eof or reset (last()), or timeout.
  std::string read_to_end(std::chrono::milliseconds timeout = kTimeout) {
    read_at_least(std::string::npos, timeout);
    return received_;
  }
  IoResult last() const { return last_; }

  static constexpr std::chrono::milliseconds kTimeout{5000};

 private:
  explicit RawClient(UniqueFd fd) : fd_(std::move(fd)) {}

  static bool fill(const std::string& address, std::uint16_t port, sockaddr_storage& sa,
                   socklen_t& length) {
    if (address.find(':') != std::string::npos) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      length = sizeof(sockaddr_in6);
      return ::inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) == 1;
    }
    auto* in = reinterpret_cast<sockaddr_in*>(&sa);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    length = sizeof(sockaddr_in);
    return ::inet_pton(AF_INET, address.c_str(), &in->sin_addr) == 1;
  }

  UniqueFd fd_;
  std::string received_;
  IoResult last_ = IoResult::ok;
};

// A v2 header: the signature, then the version/command and family/protocol bytes, then `body`
// announced with its own length (or `length`).
inline std::string proxyV2(std::uint8_t ver_cmd, std::uint8_t fam, std::string_view body,
                           int length = -1) {
  std::string out("\r\n\r\n\0\r\nQUIT\n", 12);
  const auto n = static_cast<std::uint16_t>(length < 0 ? body.size() : static_cast<size_t>(length));
  out += static_cast<char>(ver_cmd);
  out += static_cast<char>(fam);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n & 0xFF);
  return out.append(body);
}

// A v2 TCP-over-IPv4 header for `source` -> `destination` (dotted quads).
inline std::string proxyV2Inet(const std::string& source, std::uint16_t source_port,
                               const std::string& destination, std::uint16_t destination_port) {
  std::string body(12, '\0');
  ::inet_pton(AF_INET, source.c_str(), body.data());
  ::inet_pton(AF_INET, destination.c_str(), body.data() + 4);
  body[8] = static_cast<char>(source_port >> 8);
  body[9] = static_cast<char>(source_port & 0xFF);
  body[10] = static_cast<char>(destination_port >> 8);
  body[11] = static_cast<char>(destination_port & 0xFF);
  return proxyV2(0x21, 0x11, body);
}

// The access-log close record whose client is `client` ("127.0.0.5:40000"), waiting for it.
inline std::optional<LogfmtRecord> recordFor(
    const EdgeProcess& edge, const std::string& client,
    std::chrono::milliseconds deadline = RawClient::kTimeout) {
  std::optional<LogfmtRecord> found;
  run_until(
      [&] {
        for (const auto& record : edge.access_log()) {
          if (record.get("client") == client) {
            found = record;
            return true;
          }
        }
        return false;
      },
      deadline);
  return found;
}

}  // namespace edge::test
