#pragma once
// One worker's counters, per route and per target endpoint. The worker writes them (no lock but
// when it meets a route or an endpoint for the first time); a scrape reads them from another
// thread and sums every worker's (metrics/scrape in admin/). Kept by route name for the worker's
// life, so a reload that replaces a route's settings does not reset its counters.

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "metrics/counter.h"
#include "net/endpoint.h"
#include "proxy/close_reason.h"

namespace edge::metrics {

// Why a connect attempt failed, as charged to the target (refusals and timeouts apart: a
// refusal is a dead process, a timeout a dead host or a filter).
enum class ConnectFailure { Refused, Timeout, Other };
inline constexpr size_t kConnectFailures = 3;
std::string_view toString(ConnectFailure failure);

// Which limit refused a client (also counted as a close with reason "limit").
enum class Limit { MaxConnections, PerSource, Descriptors, RatePerSource };
inline constexpr size_t kLimits = 4;
std::string_view toString(Limit limit);

inline constexpr size_t kCloseReasons = static_cast<size_t>(proxy::CloseReason::BadProxyHeader) + 1;

struct TargetCounters {
  Counter attempts;
  std::array<Counter, kConnectFailures> failures;
  Counter opened;  // connections that connected to it
  Counter closed;  // ... and have ended
};

class RouteCounters {
 public:
  RouteCounters();

  Counter accepted;
  std::array<Counter, kCloseReasons> closed;  // by proxy::CloseReason
  Counter bytes_to_target;
  Counter bytes_to_client;
  std::array<Counter, kLimits> refused;
  Histogram connect_seconds;     // session start to connected, retries included
  Histogram connection_seconds;  // session start to end

  // The owning worker: the counters of `endpoint` (created on first use; stable address).
  TargetCounters& target(const net::Endpoint& endpoint);
  // Any thread: every endpoint met so far.
  void forEachTarget(
      const std::function<void(const net::Endpoint&, const TargetCounters&)>& f) const;

 private:
  mutable std::mutex mutex_;  // held by the worker only to insert, by readers to iterate
  std::unordered_map<net::Endpoint, std::unique_ptr<TargetCounters>, net::EndpointHash> targets_;
};

class WorkerMetrics {
 public:
  // The owning worker: the counters of the route `name` (created on first use; stable address).
  RouteCounters& route(std::string_view name);
  // Any thread: the route's counters, or nullptr if this worker never served it.
  const RouteCounters* find(std::string_view name) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<RouteCounters>, std::less<>> routes_;
};

}  // namespace edge::metrics
