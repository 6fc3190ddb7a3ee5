#pragma once
// Passive ejection: a target whose connect was refused or timed out is skipped until its
// back-off ends. Keyed by endpoint so the state survives target set refreshes.
// Owned by one worker; not thread-safe.

#include <chrono>
#include <unordered_map>

#include "net/endpoint.h"

namespace edge::health {

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(Clock::duration period) : period_(period) {}

  void markFailed(const net::Endpoint& ep, Clock::time_point now) { until_[ep] = now + period_; }
  void markHealthy(const net::Endpoint& ep) {
    if (!until_.empty()) until_.erase(ep);  // skip hashing in the common case
  }

  bool ejected(const net::Endpoint& ep, Clock::time_point now) const {
    auto it = until_.find(ep);
    return it != until_.end() && it->second > now;
  }

  // Drops expired entries so endpoints that left DNS do not accumulate.
  void prune(Clock::time_point now) {
    std::erase_if(until_, [&](auto& kv) { return kv.second <= now; });
  }

  size_t size() const { return until_.size(); }

 private:
  Clock::duration period_;
  std::unordered_map<net::Endpoint, Clock::time_point, net::EndpointHash> until_;
};

}  // namespace edge::health
