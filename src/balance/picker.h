#pragma once
// RFC 2782 target selection, as a pure function of the set, a usability predicate and a random
// source: the lowest priority tier that still has a usable endpoint wins; inside the tier a
// record is drawn with probability weight/sum; weight-0 records are drawn (uniformly) only when
// no weighted record of the tier is usable. Then one usable address of the record, uniformly.

#include <cstdint>
#include <optional>
#include <random>
#include <span>

#include "balance/target.h"

namespace edge::balance {

struct Pick {
  const Target* target = nullptr;
  net::Endpoint endpoint;
};

template <class Usable, class Rng>
std::optional<Pick> pickTarget(std::span<const Target> targets, Usable&& usable, Rng& rng) {
  auto usableCount = [&](const Target& t) {
    size_t n = 0;
    for (const auto& ep : t.endpoints) n += usable(ep) ? 1 : 0;
    return n;
  };
  auto draw = [&](uint64_t bound) {  // uniform in [0, bound)
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(rng);
  };

  size_t begin = 0;
  while (begin < targets.size()) {
    size_t end = begin;
    while (end < targets.size() && targets[end].priority == targets[begin].priority) ++end;

    uint64_t weight_sum = 0;
    size_t zero_weight_usable = 0;
    for (size_t i = begin; i < end; ++i) {
      if (usableCount(targets[i]) == 0) continue;
      weight_sum += targets[i].weight;
      zero_weight_usable += targets[i].weight == 0 ? 1 : 0;
    }

    const Target* chosen = nullptr;
    if (weight_sum > 0) {
      uint64_t ticket = draw(weight_sum);
      for (size_t i = begin; i < end && chosen == nullptr; ++i) {
        const auto& t = targets[i];
        if (t.weight == 0 || usableCount(t) == 0) continue;
        if (ticket < t.weight)
          chosen = &t;
        else
          ticket -= t.weight;
      }
    } else if (zero_weight_usable > 0) {
      uint64_t ticket = draw(zero_weight_usable);
      for (size_t i = begin; i < end && chosen == nullptr; ++i) {
        if (usableCount(targets[i]) == 0) continue;
        if (ticket == 0)
          chosen = &targets[i];
        else
          --ticket;
      }
    }

    if (chosen != nullptr) {
      uint64_t ticket = draw(usableCount(*chosen));
      for (const auto& ep : chosen->endpoints) {
        if (!usable(ep)) continue;
        if (ticket == 0) return Pick{chosen, ep};
        --ticket;
      }
    }
    begin = end;
  }
  return std::nullopt;
}

}  // namespace edge::balance
