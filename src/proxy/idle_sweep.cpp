#include "proxy/idle_sweep.h"

#include <algorithm>

#include "proxy/session.h"
#include "proxy/worker_context.h"

namespace edge::proxy {

IdleSweep::IdleSweep(WorkerContext& ctx, Clock::duration timeout)
    : ctx_(ctx), timer_(ctx.io), timeout_(timeout), tick_(tickFor(timeout)) {}

IdleSweep::Clock::duration IdleSweep::tickFor(Clock::duration timeout) {
  using namespace std::chrono_literals;
  return std::clamp<Clock::duration>(timeout / 8, 1ms, 1s);
}

void IdleSweep::start() {
  if (running_) return;
  running_ = true;
  arm();
}

void IdleSweep::stop() {
  running_ = false;
  timer_.cancel();
}

void IdleSweep::arm() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](std::error_code ec) {
    if (ec || !running_) return;  // stopped, or the timer (and this) are going away
    sweep();
    arm();
  });
}

void IdleSweep::sweep() {
  const auto now = Clock::now();
  // Closing only starts the end of a session (its pumps complete later): the list stays intact.
  ctx_.sessions.forEach([&](Session& session) { session.sweepIdle(now, timeout_); });
}

}  // namespace edge::proxy
