#pragma once
// One timer per worker, instead of one per connection, for what needs a clock while bytes flow:
// every tick it looks at each session once (Session::sweep), which notes whether bytes moved
// (the idle time /connections shows), closes a connection that moved no byte for its route's
// whole --idle-timeout, and writes a due access-log progress event.
//
// The tick: 1 s, or an eighth of the shortest idle timeout or progress interval covered if less.
// A sweep learns that bytes moved (from the pumps' counts) only at the tick after, so a quiet
// connection is closed between the timeout and the timeout plus two ticks after its last byte:
// never early, at most a quarter of the timeout (2 s) late. A progress event is at most a tick
// late.

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

  // Starts sweeping, once a second (or faster, as cover() asked).
  void start();
  // Sweeps from now on often enough for `timeout` (starts the sweep, or shortens its tick).
  void cover(Clock::duration timeout);
  // Stops ticking (the worker's event loop can then run out of work).
  void stop();

 private:
  using Timer =
      asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  static constexpr Clock::duration kMaxTick = std::chrono::seconds(1);

  void coverTick(Clock::duration tick);
  void arm();
  void sweep();

  WorkerContext& ctx_;
  Timer timer_;
  Clock::duration tick_ = Clock::duration::max();
  bool running_ = false;
};

}  // namespace edge::proxy
