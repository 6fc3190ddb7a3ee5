#pragma once
// One route as the data path sees it.
//
// SharedRoute: one route of one configuration generation, shared by every worker and immutable
// (its board, health table and connection counts are thread-safe). A reload that changes the
// route makes a new SharedRoute; the board (and the health table, unless its settings changed)
// carry over, so a reload starts with the targets and health state it had (no lookup gap).
//
// RouteContext: one worker's view of a SharedRoute, with what belongs to that worker alone (its
// health reader, balancer, connect and PROXY header deadlines). Each session holds its
// RouteContext until it ends: a reload or a removed route never changes a connection that is
// already open.

#include <asio/io_context.hpp>
#include <memory>

#include "balance/active_connections.h"
#include "balance/balancer.h"
#include "balance/policy.h"
#include "config/config.h"
#include "discovery/target_board.h"
#include "health/health_table.h"
#include "metrics/worker_metrics.h"
#include "proxy/connect_deadlines.h"
#include "proxy/source_rate_limiter.h"

namespace edge::proxy {

struct SharedRoute {
  config::Route settings;
  // board before health: the health table looks endpoints up in the board until it goes.
  std::shared_ptr<discovery::TargetBoard> board;
  std::shared_ptr<health::HealthTable> health;
  // Open connections per endpoint, kept (and read) for least-connections only.
  std::shared_ptr<balance::ActiveConnections> active;
  // --rate-limit-per-source; null when off. Kept across reloads that leave the rate alone.
  std::shared_ptr<SourceRateLimiter> rate_limiter;
};

// A new limiter for `route`'s rate, or null when it has none.
inline std::shared_ptr<SourceRateLimiter> makeRateLimiter(const config::Route& route) {
  if (!route.rate_limit) return nullptr;
  return std::make_shared<SourceRateLimiter>(
      *route.rate_limit, route.rate_limit_burst.value_or(route.rate_limit->count));
}

class RouteContext {
 public:
  RouteContext(asio::io_context& io, std::shared_ptr<const SharedRoute> shared,
               metrics::RouteCounters& route_counters)
      : shared_(std::move(shared)),
        settings(shared_->settings),
        board(*shared_->board),
        health_table(*shared_->health),
        health(*shared_->health),
        deadlines(io, shared_->settings.connect_timeout),
        header_deadlines(io, shared_->settings.proxy_header_timeout),
        balancer(shared_->settings.balance, shared_->active.get()),
        counters(route_counters) {}
  RouteContext(const RouteContext&) = delete;
  RouteContext& operator=(const RouteContext&) = delete;

  const SharedRoute& shared() const { return *shared_; }

 private:
  std::shared_ptr<const SharedRoute> shared_;  // first: the references below point into it

 public:
  const config::Route& settings;
  const discovery::TargetBoard& board;
  health::HealthTable& health_table;   // the route's, shared with every worker: writes
  health::HealthTable::Reader health;  // this worker's lock-free reads of it
  ConnectDeadlines deadlines;          // this worker's connects on this route
  // This worker's PROXY headers being read (--accept-proxy): the same FIFO of equal timeouts.
  ConnectDeadlines header_deadlines;
  balance::Balancer balancer;        // this worker's picks (round-robin state)
  metrics::RouteCounters& counters;  // this worker's, for the route's name (outlive reloads)
};

}  // namespace edge::proxy
