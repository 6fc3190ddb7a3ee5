#pragma once
// --idle-timeout for every connection of one worker, with one timer instead of one per
// connection: every tick (an eighth of the shortest timeout of any route it has covered, at most
// 1 s) it looks at each session once and closes those that moved no byte for their route's
// whole timeout. A sweep learns that bytes moved
// (from the pumps' counts) only at the tick after, so a quiet connection is closed between the
// timeout and the timeout plus two ticks after its last byte: never early, at most a quarter
// of the timeout (2 s) late.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>

namespace edge::proxy {

struct WorkerContext;

class IdleSweep {
 public:
  using Clock = std::chrono::steady_clock;

  explicit IdleSweep(WorkerContext& ctx);
  IdleSweep(const IdleSweep&) = delete;
  IdleSweep& operator=(const IdleSweep&) = delete;

  // How often a timeout is checked: an eighth of it, from 1 ms to 1 s.
  static Clock::duration tickFor(Clock::duration timeout);

  // Sweeps from now on often enough for `timeout` (starts the sweep, or shortens its tick).
  void cover(Clock::duration timeout);
  // Stops ticking (the worker's event loop can then run out of work).
  void stop();

 private:
  using Timer =
      asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  void arm();
  void sweep();

  WorkerContext& ctx_;
  Timer timer_;
  Clock::duration tick_ = Clock::duration::max();
  bool running_ = false;
};

}  // namespace edge::proxy
