// The PROXY header writers (--send-proxy): v1's text line and v2's binary block, per
// haproxy.org's proxy-protocol.txt (sections 2.1 and 2.2).
#include <algorithm>
#include <array>
#include <charconv>

#include "net/cidr.h"
#include "proxy_protocol/header.h"

namespace edge::proxy_protocol {
namespace {

using asio::ip::address;
using asio::ip::address_v4;
using asio::ip::address_v6;

// v2's fixed part: the 12-byte signature, then version 2 with the PROXY command.
constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr uint8_t kV2VersionProxy = 0x21;
constexpr uint8_t kV2Tcp4 = 0x11;  // AF_INET, STREAM
constexpr uint8_t kV2Tcp6 = 0x21;  // AF_INET6, STREAM
constexpr uint8_t kPp2TypeUniqueId = 0x05;
constexpr size_t kMaxUniqueIdBytes = 128;  // the spec's bound for PP2_TYPE_UNIQUE_ID

// Both addresses in the family the header announces: IPv4-mapped ones as IPv4, and when the two
// still differ, both as IPv6 (the IPv4 one mapped). Scope ids have no place on the wire.
struct Pair {
  address source;
  address destination;
};

address onWire(const address& a) {
  const auto u = net::unmapped(a);
  return u.is_v6() ? address_v6(u.to_v6().to_bytes()) : u;  // drops the scope id
}

address_v6 asV6(const address& a) {
  return a.is_v6() ? a.to_v6() : asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
}

Pair sameFamily(const net::Endpoint& source, const net::Endpoint& destination) {
  Pair p{onWire(source.address()), onWire(destination.address())};
  if (p.source.is_v4() != p.destination.is_v4()) {
    p.source = asV6(p.source);
    p.destination = asV6(p.destination);
  }
  return p;
}

void appendDecimal(std::string& out, unsigned value) {
  char digits[10];
  const auto end = std::to_chars(std::begin(digits), std::end(digits), value).ptr;
  out.append(digits, end);
}

// v1 wants IPv6 as colon-separated hex groups, "::" for the longest run of zero groups
// (RFC 5952's canonical text). Not inet_ntop: it writes mapped and compatible addresses with a
// dotted quad, which a strict v1 reader refuses.
void appendV6(std::string& out, const address_v6& a) {
  const auto bytes = a.to_bytes();
  std::array<unsigned, 8> groups{};
  for (size_t i = 0; i < 8; ++i) groups[i] = unsigned(bytes[2 * i]) << 8 | bytes[2 * i + 1];
  size_t best = 8, best_len = 0;  // the first longest run of two or more zero groups
  for (size_t i = 0; i < 8;) {
    size_t j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (i != 0 && i != best + best_len) out += ':';
    bool leading = true;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned nibble = (groups[i] >> shift) & 0xF;
      if (leading && nibble == 0 && shift != 0) continue;
      leading = false;
      out += kHex[nibble];
    }
  }
}

void appendAddress(std::string& out, const address& a) {
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    for (size_t i = 0; i < 4; ++i) {
      if (i != 0) out += '.';
      appendDecimal(out, b[i]);
    }
  } else {
    appendV6(out, a.to_v6());
  }
}

void appendBigEndian16(std::string& out, size_t value) {
  out += static_cast<char>((value >> 8) & 0xFF);
  out += static_cast<char>(value & 0xFF);
}

template <typename Bytes>
void appendBytes(std::string& out, const Bytes& bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

std::string writeV1(const net::Endpoint& source, const net::Endpoint& destination) {
  const Pair p = sameFamily(source, destination);
  std::string out;
  out.reserve(kMaxV1Bytes);
  out += p.source.is_v4() ? "PROXY TCP4 " : "PROXY TCP6 ";
  appendAddress(out, p.source);
  out += ' ';
  appendAddress(out, p.destination);
  out += ' ';
  appendDecimal(out, source.port());
  out += ' ';
  appendDecimal(out, destination.port());
  out += "\r\n";
  return out;
}

std::string writeV2(const net::Endpoint& source, const net::Endpoint& destination,
                    std::string_view unique_id) {
  const Pair p = sameFamily(source, destination);
  unique_id = unique_id.substr(0, kMaxUniqueIdBytes);
  const bool v4 = p.source.is_v4();
  const size_t addresses = v4 ? 2 * 4 + 2 * 2 : 2 * 16 + 2 * 2;
  const size_t tlvs = unique_id.empty() ? 0 : 3 + unique_id.size();
  std::string out;
  out.reserve(16 + addresses + tlvs);
  appendBytes(out, kV2Signature);
  out += static_cast<char>(kV2VersionProxy);
  out += static_cast<char>(v4 ? kV2Tcp4 : kV2Tcp6);
  appendBigEndian16(out, addresses + tlvs);
  if (v4) {
    appendBytes(out, p.source.to_v4().to_bytes());
    appendBytes(out, p.destination.to_v4().to_bytes());
  } else {
    appendBytes(out, p.source.to_v6().to_bytes());
    appendBytes(out, p.destination.to_v6().to_bytes());
  }
  appendBigEndian16(out, source.port());
  appendBigEndian16(out, destination.port());
  if (!unique_id.empty()) {
    out += static_cast<char>(kPp2TypeUniqueId);
    appendBigEndian16(out, unique_id.size());
    out += unique_id;
  }
  return out;
}

}  // namespace edge::proxy_protocol
