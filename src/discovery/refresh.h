#pragma once
// When to ask DNS again: pure functions, tested with tables.

#include <chrono>
#include <cstdint>

#include "config/config.h"

namespace edge::discovery {

// The answer's TTL (seconds) clamped to [min, max].
config::Duration clampRefresh(uint32_t ttl_seconds, config::Duration min, config::Duration max);

// After `failures` consecutive failed lookups: min, doubling, capped at max; keeps a DNS outage
// from being hammered while a first answer is still sought quickly.
config::Duration retryDelay(unsigned failures, config::Duration min, config::Duration max);

}  // namespace edge::discovery
