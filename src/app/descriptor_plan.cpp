#include "app/descriptor_plan.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>

namespace edge::app {

DescriptorPlan planDescriptors(uint64_t limit, unsigned workers, size_t pipe_size,
                               uint64_t pipe_budget_bytes) {
  DescriptorPlan plan;
  plan.limit = limit;
  // Measured at rest: 11 + 6 per worker (stdio, epoll, eventfd, timerfd, listener, the signal
  // pipe); the rest is room for resolver sockets, health checks and the state file.
  plan.reserve = std::min<uint64_t>(limit, 32 + 8ULL * workers);
  const uint64_t available = limit - plan.reserve;
  if (pipe_size > 0) plan.pipes = std::min<uint64_t>(pipe_budget_bytes / pipe_size, available / 8);
  plan.connections = std::max<uint64_t>(1, (available - 2 * plan.pipes) / 2);
  return plan;
}

uint64_t raiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    const auto wanted = limit.rlim_max;
    limit.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      spdlog::warn("could not raise RLIMIT_NOFILE");
      ::getrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 4 : limit.rlim_cur;
}

}  // namespace edge::app
