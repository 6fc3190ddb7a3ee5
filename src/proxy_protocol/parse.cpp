// The PROXY protocol parser (proxy_protocol/header.h), after haproxy.org's proxy-protocol.txt.
//
// Strictness, where the spec leaves a choice:
// - v1: fields separated by exactly one space; IPv4 as four decimal numbers 0-255 without
//   leading zeros ("010" could mean octal to someone: the spec forbids it); IPv6 as inet_pton
//   reads it (no zone id); ports 0-65535 in decimal without sign or leading zeros; a lone CR or
//   LF is never a line end. "UNKNOWN" may carry anything (but CR or LF) before its CRLF: the
//   spec says to ignore it.
// - v2: version 2 only, command LOCAL or PROXY. LOCAL ignores the family byte and the address
//   block (the spec's rule). PROXY: AF_INET/AF_INET6 over STREAM carry the client; AF_UNSPEC,
//   an UNSPEC protocol or AF_UNIX keep the connection's own addresses (local); DGRAM is refused
//   (this is a TCP listener); unassigned family or protocol values are refused. The length must
//   cover the family's addresses; TLVs after them are walked (each must end inside the header)
//   and skipped.
// Every decision is taken on the bytes at hand: a prefix of a valid header is Incomplete, and
// a byte that no valid header could have there makes the result Invalid at once.

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "proxy_protocol/header.h"

namespace edge::proxy_protocol {
namespace {

constexpr std::array<uint8_t, 12> kV2Signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV2FixedBytes = 16;

ParseResult incomplete() {
  return {};
}

ParseResult invalid(std::string error) {
  ParseResult r;
  r.status = Status::Invalid;
  r.error = std::move(error);
  return r;
}

std::string hexByte(uint8_t b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return {'0', 'x', kDigits[b >> 4], kDigits[b & 0xF]};
}

// "0x47 'G'", or "0x00" for a byte that does not print.
std::string describeByte(uint8_t b) {
  std::string out = hexByte(b);
  if (b >= 0x21 && b <= 0x7E) out += std::string(" '") + static_cast<char>(b) + "'";
  return out;
}

// Whether the first min(have.size(), want.size()) bytes agree.
bool prefixAgrees(std::span<const uint8_t> have, std::string_view want) {
  const size_t n = std::min(have.size(), want.size());
  return std::equal(have.begin(), have.begin() + static_cast<std::ptrdiff_t>(n), want.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
}

// ---- v1 ----

// A decimal number without sign or leading zeros, at most `max`.
std::optional<uint32_t> strictDecimal(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

std::optional<asio::ip::address> v1Address(std::string_view text, bool v6) {
  if (!v6) {
    asio::ip::address_v4::bytes_type bytes{};
    size_t part = 0;
    size_t start = 0;
    for (;;) {
      const size_t dot = text.find('.', start);
      const auto field = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
      const auto octet = strictDecimal(field, 255);
      if (!octet || field.size() > 3 || part == 4) return std::nullopt;
      bytes[part++] = static_cast<uint8_t>(*octet);
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (part != 4) return std::nullopt;
    return asio::ip::address_v4(bytes);
  }
  if (text.empty() || text.size() > 45)
    return std::nullopt;  // longest: ::ffff:255.255.255.255 form
  char buffer[46];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  asio::ip::address_v6::bytes_type bytes{};
  if (::inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
  return asio::ip::address_v6(bytes);
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 48)) {
    const auto b = static_cast<uint8_t>(c);
    out += b >= 0x20 && b <= 0x7E ? std::string(1, c) : "\\x" + hexByte(b).substr(2);
  }
  if (text.size() > 48) out += "...";
  return out + "\"";
}

// The fields of a complete line (without its CRLF), after "PROXY ".
ParseResult parseV1Line(std::string_view line, size_t length) {
  ParseResult r;
  r.length = length;
  r.header.version = 1;
  if (line.starts_with("UNKNOWN") && (line.size() == 7 || line[7] == ' ')) {
    r.status = Status::Complete;
    r.header.local = true;
    return r;
  }
  std::array<std::string_view, 5> fields;
  size_t count = 0;
  size_t start = 0;
  for (;;) {
    const size_t space = line.find(' ', start);
    const auto field = line.substr(start, space == std::string_view::npos ? space : space - start);
    if (field.empty())
      return invalid("v1: empty field (two spaces in a row, or a space at the end)");
    if (count == fields.size()) return invalid("v1: more than 5 fields after \"PROXY\"");
    fields[count++] = field;
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  const bool v6 = fields[0] == "TCP6";
  if (!v6 && fields[0] != "TCP4") {
    return invalid("v1: protocol " + quoted(fields[0]) + " is not TCP4, TCP6 or UNKNOWN");
  }
  if (count != 5) {
    return invalid("v1: " + std::to_string(count) +
                   " fields after \"PROXY\" (TCP4/TCP6 take protocol, 2 addresses, 2 ports)");
  }
  const char* family = v6 ? "IPv6" : "IPv4";
  const auto source = v1Address(fields[1], v6);
  if (!source) return invalid("v1: source address " + quoted(fields[1]) + " is not " + family);
  const auto destination = v1Address(fields[2], v6);
  if (!destination) {
    return invalid("v1: destination address " + quoted(fields[2]) + " is not " + family);
  }
  const auto source_port = strictDecimal(fields[3], 65535);
  if (!source_port) {
    return invalid("v1: source port " + quoted(fields[3]) +
                   " is not a port (0-65535, decimal, no leading zeros)");
  }
  const auto destination_port = strictDecimal(fields[4], 65535);
  if (!destination_port) {
    return invalid("v1: destination port " + quoted(fields[4]) +
                   " is not a port (0-65535, decimal, no leading zeros)");
  }
  r.status = Status::Complete;
  r.header.source = net::Endpoint(*source, static_cast<uint16_t>(*source_port));
  r.header.destination = net::Endpoint(*destination, static_cast<uint16_t>(*destination_port));
  return r;
}

ParseResult parseV1(std::span<const uint8_t> bytes) {
  // The protocol word, checked as soon as its first bytes are here.
  const auto rest = bytes.subspan(kV1Prefix.size());
  if (!prefixAgrees(rest, "TCP4 ") && !prefixAgrees(rest, "TCP6 ") &&
      !prefixAgrees(rest, "UNKNOWN ") && !prefixAgrees(rest, "UNKNOWN\r\n")) {
    return invalid(
        "v1: protocol is not TCP4, TCP6 or UNKNOWN (" +
        quoted({reinterpret_cast<const char*>(rest.data()), std::min<size_t>(rest.size(), 8)}) +
        ")");
  }
  const size_t scan = std::min(bytes.size(), kMaxV1Bytes);
  for (size_t i = kV1Prefix.size(); i < scan; ++i) {
    if (bytes[i] == '\n') return invalid("v1: LF without CR at byte " + std::to_string(i));
    if (bytes[i] != '\r') continue;
    if (i + 2 > kMaxV1Bytes) break;                  // its LF would be byte 108
    if (i + 1 == bytes.size()) return incomplete();  // the LF may come next
    if (bytes[i + 1] != '\n') return invalid("v1: CR without LF at byte " + std::to_string(i));
    const std::string_view line(reinterpret_cast<const char*>(bytes.data()) + kV1Prefix.size(),
                                i - kV1Prefix.size());
    return parseV1Line(line, i + 2);
  }
  if (bytes.size() >= kMaxV1Bytes) {
    return invalid("v1: no CRLF in the first " + std::to_string(kMaxV1Bytes) + " bytes");
  }
  return incomplete();
}

// ---- v2 ----

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

enum Family : uint8_t { kUnspec = 0, kInet = 1, kInet6 = 2, kUnix = 3 };
enum Protocol : uint8_t { kUnspecProtocol = 0, kStream = 1, kDgram = 2 };

size_t addressBytes(uint8_t family) {
  switch (family) {
    case kInet:
      return 12;
    case kInet6:
      return 36;
    case kUnix:
      return 216;
    default:
      return 0;
  }
}

const char* familyName(uint8_t family) {
  switch (family) {
    case kInet:
      return "AF_INET";
    case kInet6:
      return "AF_INET6";
    case kUnix:
      return "AF_UNIX";
    default:
      return "AF_UNSPEC";
  }
}

ParseResult parseV2(std::span<const uint8_t> bytes) {
  if (bytes.size() > 12) {
    const uint8_t version = bytes[12] >> 4;
    const uint8_t command = bytes[12] & 0xF;
    if (version != 2) {
      return invalid("v2: version " + std::to_string(version) + " (byte 13 is " +
                     hexByte(bytes[12]) + "; only version 2 exists)");
    }
    if (command > 1) {
      return invalid("v2: command " + std::to_string(command) +
                     " is neither LOCAL (0) nor PROXY (1)");
    }
  }
  const bool local_command = bytes.size() > 12 && (bytes[12] & 0xF) == 0;
  uint8_t family = kUnspec;
  uint8_t protocol = kUnspecProtocol;
  if (bytes.size() > 13 && !local_command) {  // LOCAL: the family is ignored (the spec's rule)
    family = bytes[13] >> 4;
    protocol = bytes[13] & 0xF;
    if (family > kUnix) {
      return invalid("v2: unknown family " + std::to_string(family) + " (byte 14 is " +
                     hexByte(bytes[13]) + ")");
    }
    if (protocol > kDgram) {
      return invalid("v2: unknown protocol " + std::to_string(protocol) + " (byte 14 is " +
                     hexByte(bytes[13]) + ")");
    }
    if (protocol == kDgram) {
      return invalid("v2: a DGRAM (UDP) connection announced on a TCP listener");
    }
  }
  if (bytes.size() < kV2FixedBytes) return incomplete();

  const size_t declared = be16(&bytes[14]);
  const size_t total = kV2FixedBytes + declared;
  if (total > kMaxV2Bytes) {
    return invalid("v2: header of " + std::to_string(total) + " bytes (length " +
                   std::to_string(declared) + ") is longer than the " +
                   std::to_string(kMaxV2Bytes) + " accepted");
  }
  // Addresses are read only from AF_INET/AF_INET6 over STREAM; AF_UNIX's length is still
  // checked and its TLVs walked. Anything else keeps the connection's addresses.
  const bool addressed = !local_command && family != kUnspec && protocol == kStream;
  const size_t address_bytes = addressed ? addressBytes(family) : 0;
  if (declared < address_bytes) {
    return invalid("v2: length " + std::to_string(declared) + " is too short for " +
                   familyName(family) + " addresses (" + std::to_string(address_bytes) + " bytes)");
  }
  if (bytes.size() < total) return incomplete();

  // TLVs: type (1 byte), length (2), value. Skipped, but each must end inside the header.
  for (size_t at = kV2FixedBytes + address_bytes; addressed && at < total;) {
    if (total - at < 3) {
      return invalid("v2: TLV at byte " + std::to_string(at) + " cut short (" +
                     std::to_string(total - at) + " bytes left in the header)");
    }
    const size_t value = be16(&bytes[at + 1]);
    if (value > total - at - 3) {
      return invalid("v2: TLV type " + hexByte(bytes[at]) + " at byte " + std::to_string(at) +
                     " runs past the header's end (value of " + std::to_string(value) + " bytes, " +
                     std::to_string(total - at - 3) + " left)");
    }
    at += 3 + value;
  }

  ParseResult r;
  r.status = Status::Complete;
  r.length = total;
  r.header.version = 2;
  const uint8_t* a = bytes.data() + kV2FixedBytes;
  if (addressed && family == kInet) {
    asio::ip::address_v4::bytes_type source{}, destination{};
    std::memcpy(source.data(), a, 4);
    std::memcpy(destination.data(), a + 4, 4);
    r.header.source = net::Endpoint(asio::ip::address_v4(source), be16(a + 8));
    r.header.destination = net::Endpoint(asio::ip::address_v4(destination), be16(a + 10));
  } else if (addressed && family == kInet6) {
    asio::ip::address_v6::bytes_type source{}, destination{};
    std::memcpy(source.data(), a, 16);
    std::memcpy(destination.data(), a + 16, 16);
    r.header.source = net::Endpoint(asio::ip::address_v6(source), be16(a + 32));
    r.header.destination = net::Endpoint(asio::ip::address_v6(destination), be16(a + 34));
  } else {
    r.header.local = true;
  }
  return r;
}

}  // namespace

ParseResult parse(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return incomplete();
  if (bytes[0] == kV2Signature[0]) {
    const size_t n = std::min(bytes.size(), kV2Signature.size());
    if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n),
                    kV2Signature.begin())) {
      return invalid("not a PROXY header (starts with 0x0d but not the v2 signature)");
    }
    return parseV2(bytes);
  }
  if (bytes[0] == static_cast<uint8_t>(kV1Prefix[0])) {
    if (!prefixAgrees(bytes, kV1Prefix)) {
      return invalid("not a PROXY header (starts with 'P' but not \"PROXY \")");
    }
    if (bytes.size() <= kV1Prefix.size()) return incomplete();
    return parseV1(bytes);
  }
  return invalid("not a PROXY header (starts with " + describeByte(bytes[0]) + ")");
}

}  // namespace edge::proxy_protocol
