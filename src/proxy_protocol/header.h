#pragma once
// PROXY protocol headers, v1 (text) and v2 (binary), as haproxy.org's proxy-protocol.txt defines
// them: a pure parser over the bytes a connection has received so far, and the writers. The
// parser takes untrusted input from the network: every length is checked against the bytes at
// hand before it is used (fuzzed: fuzz/proxy_header_fuzz.cpp).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/endpoint.h"

namespace edge::proxy_protocol {

// v1: the spec's longest line ("PROXY TCP6 " + two full IPv6 addresses + ports + CRLF).
inline constexpr size_t kMaxV1Bytes = 107;
// v2: the 16-byte fixed part plus the addresses and TLVs. The spec allows 65535 bytes after the
// fixed part; load balancers send a few hundred at most (AWS NLB: addresses, VPC endpoint id).
// Longer ones are refused (close=bad_proxy_header) so a client cannot make us buffer 64 KiB.
inline constexpr size_t kMaxV2Bytes = 16 + 1024;
// Bytes to peek at once: enough for any header accepted.
inline constexpr size_t kMaxHeaderBytes = kMaxV2Bytes;

enum class Status {
  Complete,    // a whole, valid header: `length` bytes, to be consumed (and no more)
  Incomplete,  // valid so far; more bytes are needed
  Invalid,     // not a valid header (`error` says why); the connection is closed
};

struct Header {
  int version = 0;  // 1 or 2
  // The connection's own addresses stand: v2 LOCAL (a load balancer's health check), v1
  // "UNKNOWN", v2 AF_UNSPEC or AF_UNIX.
  bool local = false;
  // The original client and the address it connected to; set unless `local`.
  std::optional<net::Endpoint> source;
  std::optional<net::Endpoint> destination;
};

struct ParseResult {
  Status status = Status::Incomplete;
  size_t length = 0;  // Complete: how many bytes the header takes
  Header header;      // Complete
  std::string error;  // Invalid: what was wrong, for the log ("v1 line without CRLF in 107 bytes")
};

// `bytes`: everything received from the start of the connection (callers peek at most
// kMaxHeaderBytes). Decides as early as it can: a wrong first byte is Invalid at once.
ParseResult parse(std::span<const uint8_t> bytes);

// The header announcing a connection from `source` to `destination`. An IPv4-mapped IPv6
// address is written as IPv4; when the two families still differ, both are written as IPv6
// (the IPv4 one mapped). v2: PROXY command over STREAM; `unique_id` (at most 128 bytes, empty
// for none) goes in a PP2_TYPE_UNIQUE_ID TLV.
std::string writeV1(const net::Endpoint& source, const net::Endpoint& destination);
std::string writeV2(const net::Endpoint& source, const net::Endpoint& destination,
                    std::string_view unique_id);

}  // namespace edge::proxy_protocol
