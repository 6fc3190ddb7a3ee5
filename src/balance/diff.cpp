#include "balance/diff.h"

#include <algorithm>
#include <iterator>

namespace edge::balance {
namespace {

std::vector<Entry> flatten(const std::vector<Target>& targets) {
  std::vector<Entry> out;
  for (const auto& t : targets) {
    for (const auto& ep : t.endpoints) out.push_back({t.name, ep, t.priority, t.weight});
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Diff diffTargets(const std::vector<Target>& before, const std::vector<Target>& after) {
  const auto a = flatten(before);
  const auto b = flatten(after);
  Diff d;
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(d.added));
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(d.removed));
  return d;
}

std::string describe(const Entry& e) {
  return e.name + " " + net::format(e.endpoint) + " (priority " + std::to_string(e.priority) +
         ", weight " + std::to_string(e.weight) + ")";
}

}  // namespace edge::balance
