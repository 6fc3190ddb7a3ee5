#include "discovery/lookup.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <cstring>

#include "discovery/answer_records.h"
#include "discovery/dns_wire.h"

namespace edge::discovery {
namespace {

// A and AAAA records of one name found in the additional section.
struct AddressRecords {
  std::vector<asio::ip::address> addresses;
  uint32_t min_ttl = UINT32_MAX;
};

std::optional<asio::ip::address> addressOf(const ResourceRecord& rr) {
  if (rr.type == kTypeA && rr.rdata.size() == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), rr.rdata.data(), 4);
    return asio::ip::address(asio::ip::address_v4(b));
  }
  if (rr.type == kTypeAaaa && rr.rdata.size() == 16) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), rr.rdata.data(), 16);
    return asio::ip::address(asio::ip::address_v6(b));
  }
  return std::nullopt;
}

}  // namespace

Lookup::Lookup(CaresChannel& channel, const config::Route& config, Done done)
    : channel_(channel), config_(config), done_(std::move(done)) {}

void Lookup::start() {
  const int type = config_.type == config::RecordType::Srv ? ns_t_srv
                   : config_.type == config::RecordType::A ? ns_t_a
                                                           : ns_t_aaaa;
  outstanding_ = 1;
  channel_.query(config_.target, type, [this](int status, std::span<const uint8_t> reply) {
    if (config_.type == config::RecordType::Srv) {
      onSrvReply(status, reply);
    } else {
      onAddressReply(status, reply);
    }
  });
}

std::optional<DnsMessage> Lookup::acceptReply(int status, std::span<const uint8_t> reply) {
  --outstanding_;
  if (status == ARES_EDESTRUCTION) return std::nullopt;  // shutting down: report nothing
  auto msg = status == ARES_SUCCESS ? parseMessage(reply) : std::nullopt;
  if (!msg) {
    result_.error = caresStatusName(status == ARES_SUCCESS ? ARES_EBADRESP : status);
    finish();
  }
  return msg;
}

void Lookup::onAddressReply(int status, std::span<const uint8_t> reply) {
  auto msg = acceptReply(status, reply);
  if (!msg) return;
  const uint16_t type = config_.type == config::RecordType::A ? kTypeA : kTypeAaaa;
  const std::string question = normalizeName(config_.target);
  const auto answers = selectAnswers(reply, *msg, question, type);
  balance::Target target{question, 0, 1, {}};
  for (const auto* rr : answers.records) {
    if (auto addr = addressOf(*rr)) target.endpoints.emplace_back(*addr, *config_.target_port);
  }
  if (target.endpoints.empty()) {
    result_.error = caresStatusName(ARES_ENODATA);
    return finish();
  }
  result_.ttl = answers.ttl;
  result_.targets.push_back(std::move(target));
  finish();
}

void Lookup::onSrvReply(int status, std::span<const uint8_t> reply) {
  auto msg = acceptReply(status, reply);
  if (!msg) return;
  const auto answers = selectAnswers(reply, *msg, normalizeName(config_.target), kTypeSrv);
  for (const auto* rr : answers.records) {
    auto srv = parseSrv(reply, *rr);
    if (!srv) {
      result_.warnings.push_back("ignored a malformed SRV record for " + rr->name);
      continue;
    }
    if (srv->target.empty()) continue;  // "." : service explicitly not available here
    srv_.push_back({srv->priority, srv->weight, srv->port, srv->target});
  }
  if (srv_.empty()) {
    result_.error = caresStatusName(ARES_ENODATA);
    return finish();
  }
  // The best priorities first, so a cap on names drops the least preferred.
  std::stable_sort(srv_.begin(), srv_.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  size_t names = 0;
  for (size_t i = 0; i < srv_.size(); ++i) {
    if (names_.contains(srv_[i].target)) continue;
    if (++names > kMaxSrvTargets) {
      result_.warnings.push_back("answer has more than " + std::to_string(kMaxSrvTargets) +
                                 " SRV target names; the rest are ignored");
      srv_.resize(i);
      break;
    }
    names_[srv_[i].target];
  }
  result_.ttl = answers.ttl;

  // Additional-section addresses count only for the SRV targets' own names.
  std::map<std::string, AddressRecords> additional;
  for (const auto& rr : msg->records) {
    if (rr.section != Section::Additional || rr.rr_class != kClassIn) continue;
    if (!names_.contains(rr.name)) continue;
    if (auto addr = addressOf(rr)) {
      auto& a = additional[rr.name];
      a.addresses.push_back(*addr);
      a.min_ttl = std::min(a.min_ttl, rr.ttl);
    }
  }

  issuing_ = true;
  for (auto& [name, pending] : names_) {
    if (auto it = additional.find(name); it != additional.end()) {
      for (const auto& addr : it->second.addresses) pending.addresses.emplace_back(addr, 0);
      result_.ttl = std::min(result_.ttl, it->second.min_ttl);
      continue;
    }
    // Not in the additional section: ask for both families. Count first: the callback may run
    // inside query() (a name c-ares refuses).
    for (uint16_t type : {kTypeA, kTypeAaaa}) {
      ++pending.outstanding;
      ++outstanding_;
      channel_.query(name, type, [this, name, type](int st, std::span<const uint8_t> r) {
        onTargetAddressReply(name, type, st, r);
      });
    }
  }
  issuing_ = false;
  if (outstanding_ == 0 && !destroyed_) finishSrv();
}

void Lookup::onTargetAddressReply(const std::string& name, uint16_t type, int status,
                                  std::span<const uint8_t> reply) {
  --outstanding_;
  if (status == ARES_EDESTRUCTION) {
    destroyed_ = true;
    return;
  }
  auto& pending = names_[name];
  --pending.outstanding;
  if (status == ARES_SUCCESS) {
    if (auto msg = parseMessage(reply)) {
      const auto answers = selectAnswers(reply, *msg, name, type);
      for (const auto* rr : answers.records) {
        if (auto addr = addressOf(*rr)) pending.addresses.emplace_back(*addr, 0);
      }
      if (!answers.records.empty()) result_.ttl = std::min(result_.ttl, answers.ttl);
    } else {
      pending.error = caresStatusName(ARES_EBADRESP);
    }
  } else if (status != ARES_ENODATA) {  // no AAAA for an IPv4-only host is normal
    pending.error = caresStatusName(status);
  }
  if (outstanding_ == 0 && !issuing_ && !destroyed_) finishSrv();
}

void Lookup::finishSrv() {
  for (const auto& record : srv_) {
    const auto& pending = names_[record.target];
    if (pending.addresses.empty()) {
      result_.warnings.push_back("SRV target " + record.target + " has no address" +
                                 (pending.error.empty() ? "" : " (" + pending.error + ")"));
      continue;
    }
    balance::Target target{record.target, record.priority, record.weight, {}};
    const uint16_t port = config_.port_override.value_or(record.port);
    for (const auto& ep : pending.addresses) target.endpoints.emplace_back(ep.address(), port);
    result_.targets.push_back(std::move(target));
  }
  if (result_.targets.empty()) result_.error = "no SRV target has an address";
  finish();
}

void Lookup::finish() {
  if (finished_) return;
  finished_ = true;
  if (!result_.error.empty()) result_.targets.clear();
  balance::canonicalize(result_.targets);
  // Several SRV records may name the same host and port; they stay separate records because
  // each carries its own weight, as RFC 2782 intends.
  done_(std::move(result_));
}

}  // namespace edge::discovery
