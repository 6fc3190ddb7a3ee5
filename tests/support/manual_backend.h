// ManualBackend: a listening socket on loopback whose connections the test drives by hand.
//
// No threads: the kernel completes the handshakes, and accept_one() hands the next connection
// to the test, which then reads, writes, stalls or resets it itself. That is how tests play a
// target that never reads (or never writes), or one that resets at a chosen moment.
// Test main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "socket_io.h"
#include "unique_fd.h"

namespace edge::test {

class ManualBackend {
 public:
  ManualBackend();  // listening on 127.0.0.1:<free port> on return; throws on failure
  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  // The next connection (non-blocking), or an invalid fd if none came by the deadline.
  UniqueFd accept_one(std::chrono::milliseconds deadline);

 private:
  UniqueFd listener_;
  std::uint16_t port_ = 0;
};

// Sends (pattern bytes) until the socket takes nothing more for `quiet`: the peer's receive
// buffer, the path in between and our send buffer are full. Returns the bytes sent.
std::uint64_t fill_until_blocked(int fd, std::chrono::milliseconds quiet,
                                 std::chrono::milliseconds deadline);

// Closes with SO_LINGER {1, 0}: the peer gets a RST instead of a FIN.
void close_with_reset(UniqueFd& fd);

// The socket's TCP state (TCP_ESTABLISHED, TCP_CLOSE, ... from netinet/tcp.h), -1 on error.
int tcp_state(int fd);

// Whether the connection was reset (a RST arrived: the socket is closed with an error pending,
// or reads report ECONNRESET), waiting at most `deadline`. Does not consume queued data.
bool wait_reset(int fd, std::chrono::milliseconds deadline);

}  // namespace edge::test
