#include "balance/policy.h"

#include <array>
#include <cctype>
#include <utility>

namespace edge::balance {
namespace {

constexpr std::array<std::pair<Policy, std::string_view>, 4> kNames = {{
    {Policy::Random, "random"},
    {Policy::RoundRobin, "round-robin"},
    {Policy::LeastConnections, "least-connections"},
    {Policy::SourceHash, "source-hash"},
}};

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view toString(Policy policy) {
  for (const auto& [p, name] : kNames) {
    if (p == policy) return name;
  }
  return "random";  // unreachable: every enumerator has a name above
}

std::optional<Policy> parsePolicy(std::string_view text) {
  for (const auto& [p, name] : kNames) {
    if (equalsIgnoringCase(text, name)) return p;
  }
  return std::nullopt;
}

}  // namespace edge::balance
