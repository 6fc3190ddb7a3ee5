#pragma once
// Endpoint value type (an asio TCP endpoint) plus parsing and formatting helpers.

#include <array>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace edge::net {

using Endpoint = asio::ip::tcp::endpoint;

// "1.2.3.4:80" or "[::1]:80".
std::string format(const Endpoint& ep);

// The same text, written into `buffer` without allocating (for the access log's hot path).
using EndpointText = std::array<char, 80>;  // "[", IPv6 text, "%" + interface, "]:65535"
std::string_view formatInto(const Endpoint& ep, EndpointText& buffer);

// Parses a decimal port in [min_port, 65535]; nullopt on anything else.
std::optional<uint16_t> parsePort(std::string_view text, uint16_t min_port = 1);

// Parses an IP literal ("1.2.3.4", "::1", "[::1]"); nullopt when it is not one.
std::optional<asio::ip::address> parseAddress(std::string_view text);

struct HostPort {
  std::optional<asio::ip::address> address;  // nullopt: not given
  std::optional<uint16_t> port;              // nullopt: not given
};

// Splits "[v6]:port", "v4:port", "v4", "[v6]", "port" (when allow_bare_port) into parts.
// Returns nullopt for malformed input.
std::optional<HostPort> parseHostPort(std::string_view text, bool allow_bare_port,
                                      uint16_t min_port = 1);

struct EndpointHash {
  size_t operator()(const Endpoint& ep) const noexcept;
};

}  // namespace edge::net
