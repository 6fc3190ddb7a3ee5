#pragma once
// What a reload changes in one route, by file key, and which parts of the running route that
// means renewing: a route keeps its listeners, discovery (targets) and health table unless a
// setting they depend on changed.

#include <string>
#include <vector>

#include "config/config.h"

namespace edge::app {

struct RouteChange {
  std::vector<std::string> keys;  // file keys that differ, in table order
  bool listen = false;            // bind the new address, then retire the old listeners
  bool listener_options = false;  // keepalive, user_timeout, backlog: set on the listeners
  bool discovery = false;   // a new lookup (into the same board: old targets until it answers)
  bool health = false;      // a new health table (back-off settings)
  bool checker = false;     // health check settings
  bool rate_limit = false;  // a new per-source rate limiter (the old one's buckets are dropped)
  bool any() const { return !keys.empty(); }
};

// `dns_changed`: the global resolvers changed, which renews every route's discovery.
RouteChange diffRoute(const config::Route& before, const config::Route& after, bool dns_changed);

}  // namespace edge::app
