#include "balance/active_connections.h"

namespace edge::balance {

void ActiveConnections::opened(const net::Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  ++counts_[endpoint];
}

void ActiveConnections::closed(const net::Endpoint& endpoint) {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(endpoint);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
}

uint32_t ActiveConnections::count(const net::Endpoint& endpoint) const {
  std::lock_guard lock(mutex_);
  const auto it = counts_.find(endpoint);
  return it == counts_.end() ? 0 : it->second;
}

size_t ActiveConnections::endpoints() const {
  std::lock_guard lock(mutex_);
  return counts_.size();
}

}  // namespace edge::balance
