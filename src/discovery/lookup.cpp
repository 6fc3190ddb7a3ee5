#include "discovery/lookup.h"

#include <arpa/nameser.h>

#include <algorithm>
#include <cstring>

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

Lookup::Lookup(CaresChannel& channel, const config::Config& config, Done done)
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
  balance::Target target{normalizeName(config_.target), 0, 1, {}};
  uint32_t ttl = UINT32_MAX;
  for (const auto& rr : msg->records) {
    if (rr.section != Section::Answer) continue;
    ttl = std::min(ttl, rr.ttl);  // CNAMEs in the chain count too
    if (auto addr = addressOf(rr)) target.endpoints.emplace_back(*addr, *config_.target_port);
  }
  if (target.endpoints.empty()) {
    result_.error = caresStatusName(ARES_ENODATA);
    return finish();
  }
  result_.ttl = ttl;
  result_.targets.push_back(std::move(target));
  finish();
}

void Lookup::onSrvReply(int status, std::span<const uint8_t> reply) {
  auto msg = acceptReply(status, reply);
  if (!msg) return;
  uint32_t ttl = UINT32_MAX;
  std::map<std::string, AddressRecords> additional;
  for (const auto& rr : msg->records) {
    if (rr.section == Section::Answer) {
      ttl = std::min(ttl, rr.ttl);
      if (rr.type != kTypeSrv) continue;
      auto srv = parseSrv(reply, rr);
      if (!srv) {
        result_.warnings.push_back("ignored a malformed SRV record for " + rr.name);
        continue;
      }
      if (srv->target.empty()) continue;  // "." : service explicitly not available here
      srv_.push_back({srv->priority, srv->weight, srv->port, srv->target});
    } else if (rr.section == Section::Additional) {
      if (auto addr = addressOf(rr)) {
        auto& a = additional[rr.name];
        a.addresses.push_back(*addr);
        a.min_ttl = std::min(a.min_ttl, rr.ttl);
      }
    }
  }
  if (srv_.empty()) {
    result_.error = caresStatusName(ARES_ENODATA);
    return finish();
  }
  result_.ttl = ttl;

  for (const auto& record : srv_) {
    if (names_.contains(record.target)) continue;
    auto& pending = names_[record.target];
    if (auto it = additional.find(record.target); it != additional.end()) {
      for (const auto& addr : it->second.addresses) pending.addresses.emplace_back(addr, 0);
      result_.ttl = std::min(result_.ttl, it->second.min_ttl);
      continue;
    }
    // Not in the additional section: ask for both families.
    for (int type : {ns_t_a, ns_t_aaaa}) {
      ++pending.outstanding;
      ++outstanding_;
      channel_.query(record.target, type,
                     [this, name = record.target](int st, std::span<const uint8_t> r) {
                       onTargetAddressReply(name, st, r);
                     });
    }
  }
  if (outstanding_ == 0) finishSrv();
}

void Lookup::onTargetAddressReply(const std::string& name, int status,
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
      for (const auto& rr : msg->records) {
        if (rr.section != Section::Answer) continue;
        if (auto addr = addressOf(rr)) {
          pending.addresses.emplace_back(*addr, 0);
          result_.ttl = std::min(result_.ttl, rr.ttl);
        }
      }
    } else {
      pending.error = caresStatusName(ARES_EBADRESP);
    }
  } else if (status != ARES_ENODATA) {  // no AAAA for an IPv4-only host is normal
    pending.error = caresStatusName(status);
  }
  if (outstanding_ == 0 && !destroyed_) finishSrv();
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
  if (!result_.error.empty()) result_.targets.clear();
  balance::canonicalize(result_.targets);
  // Several SRV records may name the same host and port; they stay separate records because
  // each carries its own weight, as RFC 2782 intends.
  done_(std::move(result_));
}

}  // namespace edge::discovery
