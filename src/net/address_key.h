#pragma once
// A client address as a 16-byte map key: IPv4 as IPv4-mapped IPv6, so a dual-stack listener's
// IPv4 clients and an IPv4 listener's are one source. The scope id is left out (it does not make
// another client). Used by the per-source connection limit and rate limit.

#include <array>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <cstring>
#include <functional>

namespace edge::net {

using AddressKey = std::array<uint8_t, 16>;

inline AddressKey addressKey(const asio::ip::address& address) {
  if (address.is_v4()) {
    return asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
  }
  return address.to_v6().to_bytes();
}

struct AddressKeyHash {
  size_t operator()(const AddressKey& k) const noexcept {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 8, 8);
    return std::hash<uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ULL));
  }
};

}  // namespace edge::net
