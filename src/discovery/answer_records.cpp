#include "discovery/answer_records.h"

#include <algorithm>

namespace edge::discovery {

Answers selectAnswers(std::span<const uint8_t> message, const DnsMessage& parsed,
                      const std::string& question, uint16_t type) {
  Answers out;
  std::vector<std::string> owners = {question};
  // Follow the chain: the CNAME owned by the last name reached, if any (the first one wins: a
  // name with two CNAMEs is illegal and either choice is as good).
  for (int hop = 0; hop < kMaxCnameChain && type != kTypeCname; ++hop) {
    const ResourceRecord* alias = nullptr;
    for (const auto& rr : parsed.records) {
      if (rr.section == Section::Answer && rr.type == kTypeCname && rr.rr_class == kClassIn &&
          rr.name == owners.back()) {
        alias = &rr;
        break;
      }
    }
    if (alias == nullptr) break;
    auto target = parseCname(message, *alias);
    if (!target || std::find(owners.begin(), owners.end(), *target) != owners.end()) break;
    out.ttl = std::min(out.ttl, alias->ttl);
    owners.push_back(std::move(*target));
  }
  for (const auto& rr : parsed.records) {
    if (rr.section != Section::Answer || rr.type != type || rr.rr_class != kClassIn) continue;
    if (std::find(owners.begin(), owners.end(), rr.name) == owners.end()) continue;
    out.records.push_back(&rr);
    out.ttl = std::min(out.ttl, rr.ttl);
  }
  if (out.records.empty()) out.ttl = UINT32_MAX;
  return out;
}

}  // namespace edge::discovery
