#pragma once
// Addresses DNS may not send connections to (pure; tested with tables). An answer is input from
// the network, and a public-facing forwarder that connects wherever it points becomes a way in:
// 0.0.0.0 reaches the host's own loopback services, 169.254.169.254 the cloud metadata service,
// the process's own listener a loop that eats every descriptor.

#include <optional>
#include <string_view>
#include <vector>

#include "net/endpoint.h"

namespace edge::discovery {

// Why `target` may never be connected to, or nullopt if it may: port 0; unspecified
// (0.0.0.0/8, ::); broadcast; multicast; link-local (fe80::/10 is unusable without a scope,
// which DNS cannot carry; 169.254.0.0/16 is the metadata service on cloud hosts). IPv4-mapped
// IPv6 addresses are judged as the IPv4 address they carry.
std::optional<std::string_view> unusableReason(const net::Endpoint& target);

// True when `target` is one of this process's listeners: same port and either the listener's
// own address, or, for a listener on a wildcard address, any loopback address or an address in
// `local_addresses` (the host's interfaces).
bool isOwnListener(const net::Endpoint& target, const std::vector<net::Endpoint>& listeners,
                   const std::vector<asio::ip::address>& local_addresses);

// The addresses of this host's interfaces (getifaddrs); empty if they cannot be read.
std::vector<asio::ip::address> localInterfaceAddresses();

}  // namespace edge::discovery
