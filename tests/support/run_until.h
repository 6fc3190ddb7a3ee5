// run_until: the one way tests wait. Polls a predicate until it holds or a deadline passes, so
// every wait in the suite is bounded in time (and, through the poll interval, in count).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace edge::test {

// Returns true as soon as `pred` returns true; false if it still does not hold after
// `deadline`. The predicate is always evaluated at least once and once more at the deadline.
inline bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline,
                      std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (pred()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll, end - now));
  }
}

// Calls `step` every `interval` for `duration` (a paced load, not a wait); stops early and
// returns false at the first step that returns false.
inline bool hold_for(const std::function<bool()>& step, std::chrono::milliseconds duration,
                     std::chrono::milliseconds interval) {
  bool ok = true;
  run_until(
      [&] {
        ok = step();
        return !ok;
      },
      duration, interval);
  return ok;
}

}  // namespace edge::test
