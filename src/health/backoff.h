#pragma once
// Passive ejection: a target whose connect was refused or timed out is skipped until its
// back-off ends. Keyed by endpoint so the state survives target set refreshes.
// Owned by one worker; not thread-safe.

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "net/endpoint.h"

namespace edge::health {

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(Clock::duration period) : period_(period) {}

  void markFailed(const net::Endpoint& ep, Clock::time_point now) {
    // Endpoints that left DNS are never marked healthy again: drop the expired ones once the
    // map has grown, so it stays bounded by the endpoints failing within one period.
    if (until_.size() >= prune_at_) {
      prune(now);
      prune_at_ = std::max(kPruneAt, 2 * until_.size());
    }
    until_[ep] = now + period_;
  }
  void markHealthy(const net::Endpoint& ep) {
    if (!until_.empty()) until_.erase(ep);  // skip hashing in the common case
  }

  bool ejected(const net::Endpoint& ep, Clock::time_point now) const {
    auto it = until_.find(ep);
    return it != until_.end() && it->second > now;
  }

  size_t size() const { return until_.size(); }

 private:
  static constexpr size_t kPruneAt = 64;

  // Drops expired entries.
  void prune(Clock::time_point now) {
    std::erase_if(until_, [&](auto& kv) { return kv.second <= now; });
  }

  Clock::duration period_;
  size_t prune_at_ = kPruneAt;
  std::unordered_map<net::Endpoint, Clock::time_point, net::EndpointHash> until_;
};

}  // namespace edge::health
