// Loopback port allocation for tests: ask the kernel for port 0, keep the number, close.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace edge::test {

// A port that was free on `address` for both TCP and UDP at the time of the call (a DNS server
// needs both), and never one this process was given before. Throws std::runtime_error if none
// is found after a bounded number of tries.
std::uint16_t free_port(const std::string& address = "127.0.0.1");

// Starts a server on a free port: sets `port` to free_port() and calls `start`, again with a new
// port (up to `tries` times) when it throws std::runtime_error, since another process may take
// the port between free_port() and the server's bind. Rethrows the last failure.
inline void start_on_free_port(std::uint16_t& port, const std::function<void()>& start,
                               int tries = 5) {
  for (int i = 0;; ++i) {
    port = free_port();
    try {
      return start();
    } catch (const std::runtime_error&) {
      if (i + 1 == tries) throw;
    }
  }
}

// A TCP port on `address` with nothing listening: connecting to it is refused at once.
inline std::uint16_t refusing_port(const std::string& address = "127.0.0.1") {
  return free_port(address);
}

}  // namespace edge::test
