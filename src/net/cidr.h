#pragma once
// An address range ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7") and lists of them, for the
// allow, deny, trusted-proxy and target-allow lists. Pure value type; tested with tables.
//
// IPv4 clients of a dual-stack listener arrive as IPv4-mapped IPv6 (::ffff:192.0.2.7): they are
// judged as the IPv4 address they carry, so one IPv4 range covers them on every listener. A range
// written in the mapped form (::ffff:10.0.0.0/104) is that IPv4 range. IPv6 ranges match IPv6
// clients only: `::/0` is every IPv6 client, `0.0.0.0/0` every IPv4 one.

#include <array>
#include <asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace edge::net {

class Cidr {
 public:
  // "ADDR/PREFIX" or a bare address (one host). Host bits must be zero: "10.0.0.1/8" is more
  // likely a typo than a wish, so it is refused (`why` suggests the network). No scope ids.
  static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);

  bool contains(const asio::ip::address& address) const;

  bool v4() const { return v4_; }
  int prefix() const { return prefix_; }  // 0-32 for IPv4, 0-128 for IPv6
  // "10.0.0.0/8", "2001:db8::/32" (always with the prefix).
  std::string text() const;

  bool operator==(const Cidr&) const = default;

 private:
  Cidr() = default;
  std::array<uint8_t, 16> bytes_{};  // IPv4 in the first 4
  uint8_t prefix_ = 0;
  bool v4_ = false;
};

// The address as the lists judge it: IPv4-mapped IPv6 turned into IPv4.
asio::ip::address unmapped(const asio::ip::address& address);

// Whether any range of `list` contains `address`.
bool anyContains(std::span<const Cidr> list, const asio::ip::address& address);

// "10.0.0.0/8,::1/128"; "" for an empty list.
std::string joinText(std::span<const Cidr> list);

}  // namespace edge::net
