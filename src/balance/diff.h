#pragma once
// Differences between two target sets, for the "targets changed" log line.

#include <string>
#include <tuple>
#include <vector>

#include "balance/target.h"

namespace edge::balance {

// One routable entry: "name endpoint (priority P, weight W)".
struct Entry {
  std::string name;
  net::Endpoint endpoint;
  uint16_t priority = 0;
  uint16_t weight = 0;

  friend bool operator==(const Entry&, const Entry&) = default;
  friend bool operator<(const Entry& a, const Entry& b) {
    return std::tie(a.priority, a.name, a.endpoint, a.weight) <
           std::tie(b.priority, b.name, b.endpoint, b.weight);
  }
};

struct Diff {
  std::vector<Entry> added;
  std::vector<Entry> removed;

  bool empty() const { return added.empty() && removed.empty(); }
};

// A changed priority or weight shows as one removal plus one addition.
Diff diffTargets(const std::vector<Target>& before, const std::vector<Target>& after);

std::string describe(const Entry& entry);

}  // namespace edge::balance
