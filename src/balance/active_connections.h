#pragma once
// Open connections per target endpoint, for --balance least-connections. One per route, shared
// by all its workers (any thread may call): a session calls opened() when its target connection
// is established and closed() when it ends. Endpoints at zero are dropped, so the table holds
// only endpoints with open connections and never grows with target churn.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "net/endpoint.h"

namespace edge::balance {

class ActiveConnections {
 public:
  void opened(const net::Endpoint& endpoint);
  // A closed() without a matching opened() is ignored (the count never goes below zero).
  void closed(const net::Endpoint& endpoint);
  uint32_t count(const net::Endpoint& endpoint) const;
  // Endpoints with at least one open connection (the table's size).
  size_t endpoints() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<net::Endpoint, uint32_t, net::EndpointHash> counts_;
};

}  // namespace edge::balance
