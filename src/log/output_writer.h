#pragma once
// Writes log lines to stdout or stderr without ever sitting in a write() that cannot finish.
//
// A pipe nobody reads (a hung log collector) would block a plain write() for ever, and with it
// shutdown, or a worker that logs. This waits for room with poll() instead and writes no more
// than the descriptor promised room for (a pipe or terminal: PIPE_BUF, cut at a line end so a
// line is never half-written; a socket: MSG_DONTWAIT), so the caller decides how long to wait.
// Regular files never fill up and are written directly. One thread at a time.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace edge::log {

class OutputWriter {
 public:
  using Clock = std::chrono::steady_clock;
  // Asked each time the output stayed full for a while: how long it has taken nothing.
  // Returns false to give up.
  using KeepWaiting = std::function<bool(Clock::duration stalled)>;

  explicit OutputWriter(int fd);

  // Writes `data`; returns the bytes written: fewer when `keep_waiting` gave up (whole lines
  // then, except on a socket, which may take part of one) or a write failed (see failed()).
  size_t write(std::string_view data, const KeepWaiting& keep_waiting);
  // A write failed (the reader closed its end, say): nothing more will be written.
  bool failed() const { return failed_; }
  int error() const { return error_; }

 private:
  // Until the output has room (true), or `keep_waiting` gave up or poll() failed (false).
  bool waitForRoom(Clock::time_point last_progress, const KeepWaiting& keep_waiting);

  int fd_;
  bool is_socket_ = false;
  bool is_regular_ = false;
  bool failed_ = false;
  int error_ = 0;
};

// How much of `data`, at most `limit` bytes, ends at a line end (all of `limit` when not even
// one line fits).
size_t wholeLines(std::string_view data, size_t limit);

}  // namespace edge::log
