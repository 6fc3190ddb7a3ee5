#pragma once
// The fixed hash behind --balance source-hash. It must give the same answer in every process
// and after every restart or upgrade (std::hash does not promise that), so it is written out
// here: bytes are read in a fixed order and mixed with the splitmix64 finalizer.

#include <asio/ip/address.hpp>
#include <cstdint>
#include <string_view>

#include "net/endpoint.h"

namespace edge::balance {

// The client's IP address; the port and an IPv6 scope are left out, and an IPv4-mapped IPv6
// address (a dual-stack listener) hashes as the IPv4 address it carries.
uint64_t clientHash(const asio::ip::address& client);
// A target endpoint: address and port.
uint64_t endpointHash(const net::Endpoint& endpoint);
// A service record: its name and port (two SRV records may name one host on two ports).
uint64_t recordHash(std::string_view name, uint16_t port);

// The pair's hash: what rendezvous hashing ranks by. Behaves as an independent draw per pair.
uint64_t pairHash(uint64_t client, uint64_t item);

// Weighted rendezvous score of a pair hash: weight / -ln(u) with u the hash as a number in
// (0, 1). Over items of weights w_i the highest score falls on item i with probability
// w_i / sum(w), and removing an item changes the winner only where it was that item.
double rendezvousScore(uint64_t pair_hash, double weight);

}  // namespace edge::balance
