#pragma once
// Which records of a reply answer the question (pure; tested with tables). A reply is input from
// the network: a record of another type, class or owner is not an answer, whatever section it
// sits in (RFC 1034 3.6.2, RFC 2181 5.4.1).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "discovery/dns_wire.h"

namespace edge::discovery {

// CNAME hops followed inside one answer; real chains are one or two long.
inline constexpr int kMaxCnameChain = 8;

struct Answers {
  std::vector<const ResourceRecord*> records;  // into the DnsMessage passed in
  uint32_t ttl = UINT32_MAX;                   // smallest TTL of those and of the chain's CNAMEs
};

// Answer-section records of `type` and class IN owned by `question` (normalized) or by a name
// reached from it through the answer section's CNAME records (at most kMaxCnameChain hops).
Answers selectAnswers(std::span<const uint8_t> message, const DnsMessage& parsed,
                      const std::string& question, uint16_t type);

}  // namespace edge::discovery
