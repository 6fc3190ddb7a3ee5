// TcpClient: a blocking-style TCP client for tests; every call takes a timeout.
// Not thread-safe: one thread uses one client (two threads may split reading and writing).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "socket_io.h"
#include "unique_fd.h"

namespace edge::test {

class TcpClient {
 public:
  // nullopt if the connection is refused or not established within `timeout`.
  static std::optional<TcpClient> connect(const std::string& address, std::uint16_t port,
                                          std::chrono::milliseconds timeout);

  int fd() const { return fd_.get(); }
  std::uint16_t local_port() const;  // matches client=127.0.0.1:<port> in the access log

  IoResult write_all(std::string_view data, std::chrono::milliseconds timeout);
  void shutdown_write();

  // A line without its '\n'; nullopt on EOF, error or timeout before a full line.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Everything up to EOF (at most `limit` bytes); nullopt on error, reset or timeout.
  std::optional<std::string> read_until_eof(std::chrono::milliseconds timeout,
                                            std::size_t limit = 1 << 24);
  // How the peer ended the stream (eof or reset), discarding data; timeout if it did not.
  IoResult wait_closed(std::chrono::milliseconds timeout);

 private:
  explicit TcpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  std::string buffered_;  // bytes read past the last line
};

}  // namespace edge::test
