#include "balance/policy.h"

// Placeholder until the balancing work lands (replaced by the full policy.cpp).
namespace edge::balance {

std::string_view toString(Policy policy) {
  switch (policy) {
    case Policy::Random:
      return "random";
    case Policy::RoundRobin:
      return "round-robin";
    case Policy::LeastConnections:
      return "least-connections";
    case Policy::SourceHash:
      return "source-hash";
  }
  return "?";
}

std::optional<Policy> parsePolicy(std::string_view text) {
  for (auto p :
       {Policy::Random, Policy::RoundRobin, Policy::LeastConnections, Policy::SourceHash}) {
    if (toString(p) == text) return p;
  }
  return std::nullopt;
}

}  // namespace edge::balance
