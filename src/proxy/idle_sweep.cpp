#include "proxy/idle_sweep.h"

#include <algorithm>

#include "proxy/session.h"
#include "proxy/worker_context.h"

namespace edge::proxy {

IdleSweep::IdleSweep(WorkerContext& ctx) : ctx_(ctx), timer_(ctx.io) {}

void IdleSweep::start() {
  coverTick(kMaxTick);
}

void IdleSweep::cover(Clock::duration timeout) {
  coverTick(tickFor(timeout));
}

void IdleSweep::coverTick(Clock::duration tick) {
  if (running_ && tick >= tick_) return;
  tick_ = std::min(tick_, tick);
  running_ = true;
  timer_.cancel();  // re-armed below at the shorter tick; the old handler sees the cancel
  arm();
}

IdleSweep::Clock::duration IdleSweep::tickFor(Clock::duration timeout) {
  using namespace std::chrono_literals;
  return std::clamp<Clock::duration>(timeout / 8, 1ms, kMaxTick);
}

void IdleSweep::stop() {
  running_ = false;
  timer_.cancel();
}

void IdleSweep::arm() {
  timer_.expires_after(tick_);
  timer_.async_wait([this](std::error_code ec) {
    if (ec || !running_) return;  // stopped, re-armed, or the timer (and this) are going away
    sweep();
    arm();
  });
}

void IdleSweep::sweep() {
  const auto now = Clock::now();
  // Closing only starts the end of a session (its pumps complete later): the list stays intact.
  ctx_.sessions.forEach([&](Session& session) { session.sweep(now); });
}

}  // namespace edge::proxy
