#pragma once
// One discovery round: the SRV query and the address queries of its targets (or one A/AAAA
// query), turned into a target list with the smallest TTL seen. Discovery thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balance/target.h"
#include "config/config.h"
#include "discovery/cares_channel.h"
#include "discovery/dns_wire.h"

namespace edge::discovery {

// Distinct SRV target names resolved per round: a hostile 64 KiB answer holds ~3,000 records,
// each of which would cost two queries every refresh.
inline constexpr size_t kMaxSrvTargets = 256;

struct LookupResult {
  std::vector<balance::Target> targets;  // canonical order; empty on failure
  uint32_t ttl = 0;                      // smallest TTL of the records used
  std::string error;                     // empty on success
  std::vector<std::string> warnings;     // e.g. an SRV target with no address
};

class Lookup {
 public:
  using Done = std::function<void(LookupResult)>;

  Lookup(CaresChannel& channel, const config::Route& config, Done done);
  Lookup(const Lookup&) = delete;
  Lookup& operator=(const Lookup&) = delete;

  void start();

 private:
  struct PendingName {  // an SRV target still to be resolved to addresses
    std::vector<net::Endpoint> addresses;
    int outstanding = 0;
    std::string error;
  };

  // The parsed main reply, or nullopt after finishing the round with the error.
  std::optional<DnsMessage> acceptReply(int status, std::span<const uint8_t> reply);
  void onSrvReply(int status, std::span<const uint8_t> reply);
  void onAddressReply(int status, std::span<const uint8_t> reply);
  void onTargetAddressReply(const std::string& name, uint16_t type, int status,
                            std::span<const uint8_t> reply);
  void finishSrv();
  void finish();

  CaresChannel& channel_;
  const config::Route& config_;
  Done done_;
  LookupResult result_;
  bool destroyed_ = false;  // set when replies came back as ARES_EDESTRUCTION
  // True while onSrvReply issues the address queries: a query c-ares refuses calls back before
  // ares_query returns, and the round must not finish while later targets are still unasked.
  bool issuing_ = false;
  bool finished_ = false;  // the result is delivered exactly once

  struct SrvRecord {
    uint16_t priority, weight, port;
    std::string target;
  };
  std::vector<SrvRecord> srv_;
  std::map<std::string, PendingName> names_;
  int outstanding_ = 0;
};

}  // namespace edge::discovery
