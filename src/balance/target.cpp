#include "balance/target.h"

#include <algorithm>
#include <tuple>

namespace edge::balance {

void canonicalize(std::vector<Target>& targets) {
  for (auto& t : targets) {
    std::sort(t.endpoints.begin(), t.endpoints.end());
    t.endpoints.erase(std::unique(t.endpoints.begin(), t.endpoints.end()), t.endpoints.end());
  }
  std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) {
    return std::tie(a.priority, a.name, a.weight, a.endpoints) <
           std::tie(b.priority, b.name, b.weight, b.endpoints);
  });
}

}  // namespace edge::balance
