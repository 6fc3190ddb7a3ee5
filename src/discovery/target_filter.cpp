#include "discovery/target_filter.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace edge::discovery {
namespace {

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches a.b.c.d: judge it as that.
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

}  // namespace

std::optional<std::string_view> unusableReason(const net::Endpoint& target) {
  if (target.port() == 0) return "port 0";
  const auto address = unmapped(target.address());
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    if (bytes[0] == 0) return "unspecified address (reaches this host)";
    if (address.to_v4() == asio::ip::address_v4::broadcast()) return "broadcast address";
    if (address.to_v4().is_multicast()) return "multicast address";
    if (bytes[0] == 169 && bytes[1] == 254) {
      return "link-local address (the cloud metadata service lives there)";
    }
    return std::nullopt;
  }
  const auto v6 = address.to_v6();
  if (v6.is_unspecified()) return "unspecified address (reaches this host)";
  if (v6.is_multicast()) return "multicast address";
  if (v6.is_link_local()) return "link-local address without a scope";
  return std::nullopt;
}

bool isOwnListener(const net::Endpoint& target, const std::vector<net::Endpoint>& listeners,
                   const std::vector<asio::ip::address>& local_addresses) {
  const auto address = unmapped(target.address());
  for (const auto& listener : listeners) {
    if (listener.port() != target.port()) continue;
    const auto own = unmapped(listener.address());
    if (!own.is_unspecified()) {
      if (own == address) return true;
      continue;
    }
    // A wildcard listener: a dual-stack [::] also takes IPv4, a 0.0.0.0 one only IPv4.
    if (own.is_v4() && !address.is_v4()) continue;
    if (address.is_loopback()) return true;
    for (const auto& local : local_addresses) {
      if (unmapped(local) == address) return true;
    }
  }
  return false;
}

std::vector<asio::ip::address> localInterfaceAddresses() {
  std::vector<asio::ip::address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    if (it->ifa_addr->sa_family == AF_INET) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr, 4);
      out.emplace_back(asio::ip::address_v4(b));
    } else if (it->ifa_addr->sa_family == AF_INET6) {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr, 16);
      out.emplace_back(asio::ip::address_v6(b));
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace edge::discovery
