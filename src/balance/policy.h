#pragma once
// How a route spreads new connections over its targets (--balance). Every policy keeps to the
// lowest SRV priority tier that has a usable endpoint, and skips what the health table ejected.

#include <optional>
#include <string_view>

namespace edge::balance {

enum class Policy {
  Random,            // RFC 2782 weighted random (the default)
  RoundRobin,        // smooth weighted round robin
  LeastConnections,  // fewest active connections relative to weight
  SourceHash,        // consistent (rendezvous) hashing on the client IP address
};

// "random", "round-robin", "least-connections", "source-hash".
std::string_view toString(Policy policy);
std::optional<Policy> parsePolicy(std::string_view text);

}  // namespace edge::balance
