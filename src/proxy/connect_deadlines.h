#pragma once
// Connect timeouts of one worker, with one timer instead of one per attempt (also used for the
// PROXY header timeout: any set of waits that all get the same timeout).
//
// Every attempt gets the same timeout, so deadlines fall in the order the attempts started:
// the waiting attempts form a FIFO and the timer only ever waits for the oldest. Joining and
// leaving the queue is a few pointer writes; an attempt that connects at once never joins.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <system_error>

#include "proxy/intrusive_list.h"

namespace edge::proxy {

class ConnectDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  // An attempt that may wait; told once if its deadline passes while it is queued.
  struct Waiter {
    virtual void deadlinePassed() = 0;

    IntrusiveHook<Waiter> deadline_hook;
    Clock::time_point deadline;

   protected:
    ~Waiter() = default;
  };
  struct DeadlineHook {
    auto& operator()(Waiter* waiter) const { return waiter->deadline_hook; }
  };

  ConnectDeadlines(asio::io_context& io, Clock::duration timeout);
  ConnectDeadlines(const ConnectDeadlines&) = delete;
  ConnectDeadlines& operator=(const ConnectDeadlines&) = delete;

  // Queues `waiter` with the deadline now + timeout.
  void add(Waiter& waiter);
  // Takes `waiter` out of the queue; nothing if it is not queued.
  void remove(Waiter& waiter) { waiting_.remove(&waiter); }
  size_t size() const { return waiting_.size(); }
  // Disarms the timer, which may still wait for an attempt that already ended: a drained
  // worker's event loop must have nothing left to run. A later add() arms it again.
  void stop();

 private:
  using Timer =
      asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  void arm();
  void expire();

  Timer timer_;
  Clock::duration timeout_;
  IntrusiveList<Waiter, DeadlineHook> waiting_;
  bool armed_ = false;
};

}  // namespace edge::proxy
