// A minimal DNS client for readiness checks: one UDP question, the response code back.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace edge::test {

inline constexpr std::uint16_t kDnsTypeA = 1;
inline constexpr std::uint16_t kDnsTypeSrv = 33;
inline constexpr int kDnsRcodeNoError = 0;
inline constexpr int kDnsRcodeNxDomain = 3;

// Sends one query for `name`/`qtype` to `server`:`port` over UDP and returns the RCODE of the
// matching response, or nullopt if none arrived within `timeout`.
std::optional<int> dns_rcode(const std::string& server, std::uint16_t port, const std::string& name,
                             std::uint16_t qtype, std::chrono::milliseconds timeout);

}  // namespace edge::test
