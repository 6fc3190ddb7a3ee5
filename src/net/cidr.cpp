#include "net/cidr.h"

#include <charconv>

#include "net/endpoint.h"

namespace edge::net {
namespace {

// Whether the first `prefix` bits of a and b agree.
bool samePrefix(const uint8_t* a, const uint8_t* b, int prefix) {
  const int whole = prefix / 8;
  for (int i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const int rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

void clearHostBits(uint8_t* bytes, size_t size, int prefix) {
  for (size_t i = 0; i < size; ++i) {
    const int bit = static_cast<int>(i) * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - bit < 8) {
      bytes[i] &= static_cast<uint8_t>(0xff << (8 - (prefix - bit)));
    }
  }
}

}  // namespace

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<Cidr> {
    if (why != nullptr) *why = std::move(reason);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const auto address_text = text.substr(0, slash);
  if (address_text.find('%') != std::string_view::npos || address_text.starts_with('[')) {
    return fail("is not ADDR[/PREFIX] (an IP address without brackets or scope)");
  }
  auto address = parseAddress(address_text);
  if (!address) return fail("is not ADDR[/PREFIX] (ADDR is not an IP address)");
  int prefix = 0;
  const bool written_v6 = address->is_v6();
  if (slash == std::string_view::npos) {
    prefix = written_v6 ? 128 : 32;
  } else {
    const auto digits = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    const int max = written_v6 ? 128 : 32;
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || prefix < 0 ||
        prefix > max) {
      return fail("has no valid prefix length (0-" + std::to_string(max) + " after the /)");
    }
  }
  Cidr cidr;
  if (written_v6 && address->to_v6().is_v4_mapped() && prefix >= 96) {
    address = unmapped(*address);  // ::ffff:10.0.0.0/104 is 10.0.0.0/8
    prefix -= 96;
  }
  cidr.v4_ = address->is_v4();
  cidr.prefix_ = static_cast<uint8_t>(prefix);
  if (cidr.v4_) {
    const auto b = address->to_v4().to_bytes();
    std::copy(b.begin(), b.end(), cidr.bytes_.begin());
  } else {
    cidr.bytes_ = address->to_v6().to_bytes();
  }
  auto network = cidr.bytes_;
  clearHostBits(network.data(), cidr.v4_ ? 4 : 16, prefix);
  if (network != cidr.bytes_) {
    cidr.bytes_ = network;
    return fail("has bits set after the prefix; the network is " + cidr.text());
  }
  return cidr;
}

bool Cidr::contains(const asio::ip::address& raw) const {
  const auto address = unmapped(raw);
  if (address.is_v4() != v4_) return false;
  if (v4_) {
    const auto b = address.to_v4().to_bytes();
    return samePrefix(b.data(), bytes_.data(), prefix_);
  }
  const auto b = address.to_v6().to_bytes();
  return samePrefix(b.data(), bytes_.data(), prefix_);
}

std::string Cidr::text() const {
  std::string out;
  if (v4_) {
    out = asio::ip::address_v4({bytes_[0], bytes_[1], bytes_[2], bytes_[3]}).to_string();
  } else {
    out = asio::ip::address_v6(bytes_).to_string();
  }
  return out + "/" + std::to_string(prefix_);
}

bool anyContains(std::span<const Cidr> list, const asio::ip::address& address) {
  for (const auto& cidr : list) {
    if (cidr.contains(address)) return true;
  }
  return false;
}

std::string joinText(std::span<const Cidr> list) {
  std::string out;
  for (const auto& cidr : list) {
    if (!out.empty()) out += ',';
    out += cidr.text();
  }
  return out;
}

}  // namespace edge::net
