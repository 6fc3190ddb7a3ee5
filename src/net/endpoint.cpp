#include "net/endpoint.h"

#include <asio/detail/socket_ops.hpp>
#include <charconv>
#include <cstring>

namespace edge::net {

std::string format(const Endpoint& ep) {
  EndpointText buffer;
  return std::string(formatInto(ep, buffer));
}

std::string_view formatInto(const Endpoint& ep, EndpointText& buffer) {
  const auto addr = ep.address();
  char* out = buffer.data();
  char* const end = buffer.data() + buffer.size();
  std::error_code ec;
  if (addr.is_v6()) {
    *out++ = '[';
    // asio writes the address as inet_ntop does, plus "%scope" for link-local addresses.
    asio::detail::socket_ops::inet_ntop(AF_INET6, addr.to_v6().to_bytes().data(), out,
                                        static_cast<size_t>(end - out), addr.to_v6().scope_id(),
                                        ec);
    out += std::strlen(out);
    *out++ = ']';
  } else {
    asio::detail::socket_ops::inet_ntop(AF_INET, addr.to_v4().to_bytes().data(), out,
                                        static_cast<size_t>(end - out), 0, ec);
    out += std::strlen(out);
  }
  *out++ = ':';
  out = std::to_chars(out, end, ep.port()).ptr;
  return {buffer.data(), static_cast<size_t>(out - buffer.data())};
}

std::optional<uint16_t> parsePort(std::string_view text, uint16_t min_port) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value < min_port || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

std::optional<asio::ip::address> parseAddress(std::string_view text) {
  // asio parses a C string: "1.2.3.4\0junk" (a TOML string may hold \u0000) would read as
  // 1.2.3.4 (found by fuzz/duration_endpoint_fuzz).
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    asio::error_code ec;
    auto v6 = asio::ip::make_address_v6(std::string(text), ec);
    if (ec) return std::nullopt;
    return asio::ip::address(v6);
  }
  asio::error_code ec;
  auto addr = asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return addr;
}

std::optional<HostPort> parseHostPort(std::string_view text, bool allow_bare_port,
                                      uint16_t min_port) {
  HostPort out;
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {  // [v6] or [v6]:port
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.address = parseAddress(text.substr(0, close + 1));
    if (!out.address) return std::nullopt;
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return out;
    if (rest.front() != ':') return std::nullopt;
    out.port = parsePort(rest.substr(1), min_port);
    if (!out.port) return std::nullopt;
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    if (allow_bare_port && text.find('.') == std::string_view::npos) {
      out.port = parsePort(text, min_port);
      if (!out.port) return std::nullopt;
      return out;
    }
    out.address = parseAddress(text);
    if (!out.address) return std::nullopt;
    return out;
  }
  if (text.find(':') != colon) {  // bare IPv6 without brackets, no port
    out.address = parseAddress(text);
    if (!out.address) return std::nullopt;
    return out;
  }
  const auto host = text.substr(0, colon);
  if (host.empty() || host == "*") {
    if (!allow_bare_port) return std::nullopt;
  } else {
    out.address = parseAddress(host);
    if (!out.address) return std::nullopt;
  }
  out.port = parsePort(text.substr(colon + 1), min_port);
  if (!out.port) return std::nullopt;
  return out;
}

size_t EndpointHash::operator()(const Endpoint& ep) const noexcept {
  const auto addr = ep.address();
  size_t h = std::hash<uint16_t>{}(ep.port());
  if (addr.is_v4()) {
    h ^= std::hash<uint32_t>{}(addr.to_v4().to_uint()) + 0x9e3779b97f4a7c15ULL + (h << 6);
  } else {
    for (auto byte : addr.to_v6().to_bytes()) h = h * 131 + byte;
  }
  return h;
}

}  // namespace edge::net
