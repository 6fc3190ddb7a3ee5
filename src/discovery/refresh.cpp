#include "discovery/refresh.h"

#include <algorithm>

namespace edge::discovery {

config::Duration clampRefresh(uint32_t ttl_seconds, config::Duration min, config::Duration max) {
  const config::Duration ttl = std::chrono::seconds(ttl_seconds);
  return std::clamp(ttl, min, std::max(min, max));
}

config::Duration retryDelay(unsigned failures, config::Duration min, config::Duration max) {
  config::Duration d = min;
  for (unsigned i = 1; i < failures && d < max; ++i) d *= 2;
  return std::clamp(d, min, std::max(min, max));
}

}  // namespace edge::discovery
