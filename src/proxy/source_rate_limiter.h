#pragma once
// --rate-limit-per-source: a token bucket per client address, shared by every worker of a route.
// Each address may open `burst` connections at once, then `rate.count` per `rate.period`; a
// connection beyond that is closed at once (close=rate_limited).
//
// Memory is fixed: the table holds at most `capacity` addresses (kMaxSources by default), all
// allocated when the limiter is made; a new address beyond it takes the slot of the address seen
// least recently. A flood from random addresses (spoofing needs no handshake on other routes, but
// here every address completed one) therefore cannot grow it; what it can do is push a quiet
// address out, which then starts again with a full bucket: the limit errs towards serving.
// Thread-safe: one mutex, taken once per new connection and only when the limit is on.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "net/address_key.h"

namespace edge::proxy {

class SourceRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // 16,384 addresses: about 1.5 MiB per route with the limit on (README: Access control).
  static constexpr size_t kMaxSources = 16384;

  SourceRateLimiter(config::RateLimit rate, uint32_t burst, size_t capacity = kMaxSources);
  SourceRateLimiter(const SourceRateLimiter&) = delete;
  SourceRateLimiter& operator=(const SourceRateLimiter&) = delete;

  // Takes a token for a new connection from `source`; false when its bucket is empty.
  bool admit(const asio::ip::address& source, Clock::time_point now);

  size_t sources() const;  // addresses in the table (at most capacity())
  size_t capacity() const { return capacity_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    net::AddressKey key;
    double tokens = 0;
    Clock::time_point last{};
    uint32_t newer = kNone;  // the recency list: most recent at head_, least at tail_
    uint32_t older = kNone;
  };

  void unlink(uint32_t i);
  void pushFront(uint32_t i);

  const double per_ns_;  // tokens per nanosecond
  const double burst_;
  const size_t capacity_;

  mutable std::mutex mutex_;  // guards everything below
  std::vector<Entry> entries_;
  std::unordered_map<net::AddressKey, uint32_t, net::AddressKeyHash> index_;
  uint32_t head_ = kNone;
  uint32_t tail_ = kNone;
};

}  // namespace edge::proxy
