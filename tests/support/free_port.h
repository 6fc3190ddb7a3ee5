// Loopback port allocation for tests: ask the kernel for port 0, keep the number, close.
#pragma once

#include <cstdint>
#include <string>

namespace edge::test {

// A port that was free on `address` for both TCP and UDP at the time of the call (a DNS server
// needs both), and never one this process was given before. Throws std::runtime_error if none
// is found after a bounded number of tries.
std::uint16_t free_port(const std::string& address = "127.0.0.1");

// A TCP port on `address` with nothing listening: connecting to it is refused at once.
inline std::uint16_t refusing_port(const std::string& address = "127.0.0.1") {
  return free_port(address);
}

}  // namespace edge::test
