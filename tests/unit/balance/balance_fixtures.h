#pragma once
// Shared helpers of the balancing unit tests: targets, client addresses, counting, chi-square.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "balance/policy.h"
#include "balance/target.h"
#include "net/endpoint.h"

namespace edge::balance {

inline net::Endpoint ep(const char* ip, uint16_t port = 80) {
  return net::Endpoint(asio::ip::make_address(ip), port);
}

inline Target target(std::string name, uint16_t priority, uint16_t weight,
                     std::vector<net::Endpoint> endpoints) {
  return Target{std::move(name), priority, weight, std::move(endpoints)};
}

inline const auto kAll = [](const net::Endpoint&) { return true; };

// A distinct client per index: 10.0.0.0 + i for IPv4, 2001:db8::/64 + i for IPv6, any port.
inline net::Endpoint clientV4(uint32_t i, uint16_t port = 40000) {
  return net::Endpoint(asio::ip::address_v4(0x0a000000u + i), port);
}
inline net::Endpoint clientV6(uint32_t i, uint16_t port = 40000) {
  asio::ip::address_v6::bytes_type bytes{0x20, 0x01, 0x0d, 0xb8};
  for (int k = 0; k < 4; ++k) bytes[15 - k] = static_cast<unsigned char>(i >> (8 * k));
  return net::Endpoint(asio::ip::address_v6(bytes), port);
}

// Pearson's chi-square statistic of observed counts against expected probabilities.
inline double chiSquare(const std::map<std::string, int>& counts,
                        const std::map<std::string, double>& probabilities, int draws) {
  double chi2 = 0;
  for (const auto& [key, p] : probabilities) {
    const double expected = p * draws;
    const auto it = counts.find(key);
    const double observed = it == counts.end() ? 0 : it->second;
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  return chi2;
}

inline void PrintTo(Policy policy, std::ostream* os) {
  *os << toString(policy);
}

}  // namespace edge::balance
