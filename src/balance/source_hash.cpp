#include "balance/source_hash.h"

#include <array>
#include <cmath>
#include <span>

namespace edge::balance {
namespace {

// Domain seeds, so a client and an endpoint with the same bytes do not hash alike.
constexpr uint64_t kClientSeed = 0x6a09e667f3bcc908ULL;
constexpr uint64_t kEndpointSeed = 0xbb67ae8584caa73bULL;
constexpr uint64_t kRecordSeed = 0x3c6ef372fe94f82bULL;
constexpr uint64_t kPairSeed = 0xa54ff53a5f1d36f1ULL;

// splitmix64's finalizer: a bijection of 64-bit words with full avalanche.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Length first, then 8-byte little-endian words (the last one zero-padded), each mixed in.
uint64_t hashBytes(std::span<const unsigned char> bytes, uint64_t seed) {
  uint64_t h = mix64(seed ^ bytes.size());
  for (size_t i = 0; i < bytes.size(); i += 8) {
    uint64_t word = 0;
    for (size_t k = 0; k < 8 && i + k < bytes.size(); ++k)
      word |= uint64_t{bytes[i + k]} << (8 * k);
    h = mix64(h ^ word);
  }
  return h;
}

uint64_t addressHash(const asio::ip::address& address, uint64_t seed) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return addressHash(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()), seed);
  }
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    return hashBytes(bytes, seed);
  }
  const auto bytes = address.to_v6().to_bytes();
  return hashBytes(bytes, seed);
}

}  // namespace

uint64_t clientHash(const asio::ip::address& client) {
  return addressHash(client, kClientSeed);
}

uint64_t endpointHash(const net::Endpoint& endpoint) {
  return mix64(addressHash(endpoint.address(), kEndpointSeed) ^ endpoint.port());
}

uint64_t recordHash(std::string_view name, uint16_t port) {
  const auto* data = reinterpret_cast<const unsigned char*>(name.data());
  return mix64(hashBytes({data, name.size()}, kRecordSeed) ^ port);
}

uint64_t pairHash(uint64_t client, uint64_t item) {
  return mix64(client ^ mix64(item ^ kPairSeed));
}

double rendezvousScore(uint64_t pair_hash, double weight) {
  // The top 52 bits, centred in their interval: u is never 0 or 1, so -ln(u) is finite and > 0
  // (with 53 bits the largest value + 0.5 rounds up to 2^53 and u becomes 1).
  const double u = (static_cast<double>(pair_hash >> 12) + 0.5) * 0x1p-52;
  return weight / -std::log(u);
}

}  // namespace edge::balance
