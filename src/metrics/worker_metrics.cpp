#include "metrics/worker_metrics.h"

namespace edge::metrics {

std::string_view toString(ConnectFailure failure) {
  switch (failure) {
    case ConnectFailure::Refused:
      return "refused";
    case ConnectFailure::Timeout:
      return "timeout";
    case ConnectFailure::Other:
      return "other";
  }
  return "other";
}

std::string_view toString(Limit limit) {
  switch (limit) {
    case Limit::MaxConnections:
      return "max_connections";
    case Limit::PerSource:
      return "max_connections_per_source";
    case Limit::Descriptors:
      return "descriptors";
    case Limit::RatePerSource:
      return "rate_limit_per_source";
  }
  return "descriptors";
}

RouteCounters::RouteCounters()
    : connect_seconds(kConnectBounds), connection_seconds(kDurationBounds) {}

TargetCounters& RouteCounters::target(const net::Endpoint& endpoint) {
  // Only this worker inserts, so its own lookup needs no lock; readers lock against the insert.
  if (auto it = targets_.find(endpoint); it != targets_.end()) return *it->second;
  std::lock_guard lock(mutex_);
  return *targets_.emplace(endpoint, std::make_unique<TargetCounters>()).first->second;
}

void RouteCounters::forEachTarget(
    const std::function<void(const net::Endpoint&, const TargetCounters&)>& f) const {
  std::lock_guard lock(mutex_);
  for (const auto& [endpoint, counters] : targets_) f(endpoint, *counters);
}

RouteCounters& WorkerMetrics::route(std::string_view name) {
  if (auto it = routes_.find(name); it != routes_.end()) return *it->second;
  std::lock_guard lock(mutex_);
  return *routes_.emplace(std::string(name), std::make_unique<RouteCounters>()).first->second;
}

const RouteCounters* WorkerMetrics::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = routes_.find(name);
  return it == routes_.end() ? nullptr : it->second.get();
}

}  // namespace edge::metrics
