#pragma once
// Picks a target endpoint for a new connection by the route's policy (--balance). One Balancer
// per worker and route, used by that worker's thread only (round-robin keeps state here); it
// borrows the route's ActiveConnections, which must outlive it.
//
// Every policy chooses among the same candidates: the usable endpoints of the lowest SRV
// priority tier that has one; there, the records with weight > 0 (weight-0 records, counted as
// weight 1 each, only when no weighted record of the tier is usable). A record's weight is
// shared evenly among its usable endpoints, as pickTarget does, so a record gets the same
// share under every policy whether it has one address or several:
// - random: pickTarget (RFC 2782).
// - round-robin: smooth weighted round robin (nginx) over the endpoints. The state is kept per
//   endpoint, so a refreshed but equal target set continues the cycle, and after a change the
//   endpoints that remain keep theirs; state of endpoints no longer in the set is dropped.
// - least-connections: the endpoint with the fewest open connections per unit of weight; ties
//   are drawn at random in proportion to weight (with only short connections it is random).
// - source-hash: weighted rendezvous hashing of the client's IP address, first over the
//   records, then over the chosen record's usable endpoints. A client stays on its endpoint
//   while that is usable, whatever the order or refreshes of the set; it moves only when its
//   endpoint is unusable or gone (an unusable address of a host moves its clients to another
//   address of the same host). Removing one of N records moves only its ~1/N of the clients.
//
// Picks allocate nothing once warmed up (round-robin allocates once per new endpoint).

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "balance/active_connections.h"
#include "balance/picker.h"
#include "balance/policy.h"
#include "balance/target.h"
#include "net/endpoint.h"

namespace edge::balance {

class Balancer {
 public:
  // `active` is read by least-connections only and may be null otherwise (null there: every
  // endpoint counts as idle, which makes least-connections weighted random).
  Balancer(Policy policy, const ActiveConnections* active);

  Policy policy() const { return policy_; }

  // `targets` in canonical order (tiers contiguous, ascending priority); `usable(endpoint)` is
  // called at most once per endpoint of the tiers it looks at (except for random, which is
  // pickTarget). `client` is the connection's source; only source-hash reads it.
  template <class Usable, class Rng>
  std::optional<Pick> pick(std::span<const Target> targets, Usable&& usable,
                           const net::Endpoint& client, Rng& rng);

 private:
  struct Candidate {
    const Target* target;
    const net::Endpoint* endpoint;
    uint32_t weight;    // the record's (1 for weight-0 records in a tier without weighted ones)
    uint32_t siblings;  // usable endpoints of the same record, this one included
    uint32_t active;    // open connections (least-connections only)
  };

  // Fills candidates_ with the first tier that has a usable endpoint; false if none has.
  template <class Usable>
  bool collectTier(std::span<const Target> targets, Usable& usable);

  Pick pickRoundRobin(std::span<const Target> targets);
  Pick pickLeastConnections(double ticket);  // ticket: uniform in [0, 1)
  Pick pickSourceHash(const net::Endpoint& client) const;

  Policy policy_;
  const ActiveConnections* active_;
  std::vector<Candidate> candidates_;  // reused by every pick: no allocation once grown

  struct RoundRobinState {
    int64_t current = 0;  // nginx's current_weight
    bool seen = false;    // mark for dropping endpoints no longer in the set
  };
  std::unordered_map<net::Endpoint, RoundRobinState, net::EndpointHash> round_robin_;
};

template <class Usable, class Rng>
std::optional<Pick> Balancer::pick(std::span<const Target> targets, Usable&& usable,
                                   const net::Endpoint& client, Rng& rng) {
  if (policy_ == Policy::Random) return pickTarget(targets, usable, rng);
  if (!collectTier(targets, usable)) return std::nullopt;
  switch (policy_) {
    case Policy::RoundRobin:
      return pickRoundRobin(targets);
    case Policy::LeastConnections:
      return pickLeastConnections(std::uniform_real_distribution<double>(0.0, 1.0)(rng));
    case Policy::SourceHash:
      return pickSourceHash(client);
    case Policy::Random:
      break;
  }
  return std::nullopt;
}

template <class Usable>
bool Balancer::collectTier(std::span<const Target> targets, Usable& usable) {
  size_t begin = 0;
  while (begin < targets.size()) {
    size_t end = begin;
    while (end < targets.size() && targets[end].priority == targets[begin].priority) ++end;

    candidates_.clear();
    bool weighted = false;
    for (size_t i = begin; i < end; ++i) {
      const Target& t = targets[i];
      const size_t first = candidates_.size();
      for (const auto& ep : t.endpoints) {
        if (usable(ep)) candidates_.push_back({&t, &ep, t.weight, 0, 0});
      }
      const auto siblings = static_cast<uint32_t>(candidates_.size() - first);
      for (size_t k = first; k < candidates_.size(); ++k) candidates_[k].siblings = siblings;
      weighted = weighted || (siblings > 0 && t.weight > 0);
    }
    if (weighted) {
      std::erase_if(candidates_, [](const Candidate& c) { return c.weight == 0; });
    } else {
      for (auto& c : candidates_) c.weight = 1;  // RFC 2782: weight-0 records, uniformly
    }
    if (!candidates_.empty()) return true;
    begin = end;
  }
  return false;
}

}  // namespace edge::balance
