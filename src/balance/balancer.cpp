#include "balance/balancer.h"

#include <limits>

#include "balance/source_hash.h"

namespace edge::balance {
namespace {

// Round-robin splits a record's weight among its endpoints in integers: scaled by lcm(1..16)
// first, the split is exact for up to 16 addresses per record (and off by less than a
// 720720th of a weight unit beyond).
constexpr int64_t kWeightScale = 720720;

}  // namespace

Balancer::Balancer(Policy policy, const ActiveConnections* active)
    : policy_(policy), active_(active) {}

Pick Balancer::pickRoundRobin(std::span<const Target> targets) {
  // nginx's smooth weighted round robin: every candidate gains its weight, the one with the
  // most current weight wins and pays back the total. Over a cycle of sum(weights) picks each
  // is chosen weight times, spread out (5:1:1 gives a a b a c a a).
  int64_t total = 0;
  RoundRobinState* best = nullptr;
  const Candidate* chosen = nullptr;
  for (const auto& c : candidates_) {
    const int64_t weight = int64_t{c.weight} * kWeightScale / c.siblings;
    auto& state = round_robin_[*c.endpoint];  // references survive rehashing
    state.current += weight;
    total += weight;
    if (best == nullptr || state.current > best->current) {
      best = &state;
      chosen = &c;
    }
  }
  best->current -= total;
  const Pick pick{chosen->target, *chosen->endpoint};

  // More states than endpoints in the set means some endpoint left it: drop those, so the
  // table stays as small as the set (endpoints that remain keep their place in the cycle).
  size_t endpoints = 0;
  for (const auto& t : targets) endpoints += t.endpoints.size();
  if (round_robin_.size() > endpoints) {
    for (auto& entry : round_robin_) entry.second.seen = false;
    for (const auto& t : targets) {
      for (const auto& ep : t.endpoints) {
        if (const auto it = round_robin_.find(ep); it != round_robin_.end()) it->second.seen = true;
      }
    }
    std::erase_if(round_robin_, [](const auto& entry) { return !entry.second.seen; });
  }
  return pick;
}

Pick Balancer::pickLeastConnections(double ticket) {
  // Load = open connections per unit of weight, compared as doubles: equal ratios divide to
  // the same double (division rounds correctly), so ties are ties.
  auto share = [](const Candidate& c) { return static_cast<double>(c.weight) / c.siblings; };
  auto load = [](const Candidate& c) {
    return static_cast<double>(c.active) * c.siblings / static_cast<double>(c.weight);
  };
  double lowest = std::numeric_limits<double>::infinity();
  double tied = 0;
  for (auto& c : candidates_) {
    c.active = active_ != nullptr ? active_->count(*c.endpoint) : 0;  // read once per pick
    const double l = load(c);
    if (l < lowest) {
      lowest = l;
      tied = share(c);
    } else if (l == lowest) {
      tied += share(c);
    }
  }
  // Among the least loaded, draw in proportion to weight.
  double left = ticket * tied;
  const Candidate* chosen = nullptr;
  for (const auto& c : candidates_) {
    if (load(c) != lowest) continue;
    chosen = &c;
    left -= share(c);
    if (left < 0) break;
  }
  return Pick{chosen->target, *chosen->endpoint};
}

Pick Balancer::pickSourceHash(const net::Endpoint& client) const {
  const uint64_t who = clientHash(client.address());

  // The record first (weighted), so a record keeps its share and its clients whatever happens
  // to its addresses; a record's candidates are contiguous.
  size_t record_begin = 0;
  size_t record_end = 0;
  double best_score = -1;
  for (size_t begin = 0; begin < candidates_.size();) {
    size_t end = begin;
    while (end < candidates_.size() && candidates_[end].target == candidates_[begin].target) ++end;
    const Target& t = *candidates_[begin].target;
    const uint64_t record = recordHash(t.name, t.endpoints.front().port());
    const double score = rendezvousScore(pairHash(who, record), candidates_[begin].weight);
    if (score > best_score) {
      best_score = score;
      record_begin = begin;
      record_end = end;
    }
    begin = end;
  }

  // Then one of its usable endpoints (equal shares: the highest pair hash).
  const Candidate* chosen = &candidates_[record_begin];
  uint64_t best_hash = pairHash(who, endpointHash(*chosen->endpoint));
  for (size_t i = record_begin + 1; i < record_end; ++i) {
    const uint64_t h = pairHash(who, endpointHash(*candidates_[i].endpoint));
    if (h > best_hash) {
      best_hash = h;
      chosen = &candidates_[i];
    }
  }
  return Pick{chosen->target, *chosen->endpoint};
}

}  // namespace edge::balance
