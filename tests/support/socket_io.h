// Bounded socket I/O on non-blocking descriptors for backends and clients: every call ends by
// a deadline or when a stop flag is raised, so no helper thread can hang a test.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

namespace edge::test {

enum class IoResult { ok, eof, reset, error, timeout, stopped };
const char* to_string(IoResult result);

struct Until {
  std::chrono::steady_clock::time_point deadline;
  const std::atomic<bool>* stop = nullptr;  // borrowed; may be null

  static Until in(std::chrono::milliseconds timeout, const std::atomic<bool>* stop = nullptr) {
    return {std::chrono::steady_clock::now() + timeout, stop};
  }
};

void set_nonblocking(int fd);

// Waits for poll `events` on fd. ok, timeout or stopped (error if poll fails).
IoResult wait_ready(int fd, short events, const Until& until);

// Writes all of [data, data + size). ok, reset (EPIPE/ECONNRESET), error, timeout or stopped.
IoResult send_all(int fd, const void* data, std::size_t size, const Until& until);

// Reads at least one byte (up to size) into data; `got` is set on ok. eof, reset, ...
IoResult recv_some(int fd, void* data, std::size_t size, std::size_t& got, const Until& until);

}  // namespace edge::test
