#pragma once
// Target and TargetSet value types. A TargetSet is immutable once published.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "net/endpoint.h"

namespace edge::balance {

// One service record: an SRV record (priority, weight, name) or, for A/AAAA discovery, the
// queried name with priority 0 and weight 1. All its addresses share the record's weight.
struct Target {
  std::string name;
  uint16_t priority = 0;
  uint16_t weight = 1;
  std::vector<net::Endpoint> endpoints;  // sorted, unique

  friend bool operator==(const Target&, const Target&) = default;
};

struct TargetSet {
  std::vector<Target> targets;  // sorted by (priority, name, weight): tiers are contiguous
  std::chrono::steady_clock::time_point resolved_at{};

  bool empty() const { return targets.empty(); }
};

// Sorts targets and their endpoints into the canonical order the picker and the diff expect.
void canonicalize(std::vector<Target>& targets);

}  // namespace edge::balance
