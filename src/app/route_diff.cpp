#include "app/route_diff.h"

namespace edge::app {

RouteChange diffRoute(const config::Route& a, const config::Route& b, bool dns_changed) {
  RouteChange c;
  auto check = [&](bool differs, const char* key, std::initializer_list<bool*> parts) {
    if (!differs) return;
    c.keys.emplace_back(key);
    for (bool* part : parts) *part = true;
  };
  check(a.listen_address != b.listen_address || a.listen_port != b.listen_port, "listen",
        {&c.listen});
  check(a.target != b.target, "target", {&c.discovery});
  check(a.type != b.type, "type", {&c.discovery});
  check(a.target_port != b.target_port, "target_port", {&c.discovery});
  check(a.port_override != b.port_override, "port_override", {&c.discovery});
  check(a.min_refresh != b.min_refresh, "min_refresh", {&c.discovery});
  check(a.max_refresh != b.max_refresh, "max_refresh", {&c.discovery});
  check(a.max_stale != b.max_stale, "max_stale", {&c.discovery});
  check(a.state_file != b.state_file, "state_file", {&c.discovery});
  check(a.balance != b.balance, "balance", {});
  check(a.connect_timeout != b.connect_timeout, "connect_timeout", {&c.health});
  check(a.connect_retries != b.connect_retries, "connect_retries", {});
  check(a.refused_backoff != b.refused_backoff, "refused_backoff", {&c.health});
  check(a.eject_max != b.eject_max, "eject_max", {&c.health});
  check(a.idle_timeout != b.idle_timeout, "idle_timeout", {});
  check(a.keepalive != b.keepalive, "keepalive", {&c.listener_options});
  check(a.user_timeout != b.user_timeout, "user_timeout", {&c.listener_options});
  check(a.health_check_interval != b.health_check_interval, "health_check_interval", {&c.checker});
  check(a.health_check_timeout != b.health_check_timeout, "health_check_timeout", {&c.checker});
  check(a.health_check_expect != b.health_check_expect, "health_check_expect", {&c.checker});
  check(a.backlog != b.backlog, "backlog", {&c.listener_options});
  check(a.send_proxy != b.send_proxy, "send_proxy", {});
  check(a.accept_proxy != b.accept_proxy, "accept_proxy", {});
  check(a.trusted_proxies != b.trusted_proxies, "trusted_proxies", {});
  check(a.proxy_header_timeout != b.proxy_header_timeout, "proxy_header_timeout", {});
  check(a.allow != b.allow, "allow", {});
  check(a.deny != b.deny, "deny", {});
  // Targets already known were filtered with the old list: a new lookup filters them again.
  check(a.target_allow != b.target_allow, "target_allow", {&c.discovery});
  check(a.rate_limit != b.rate_limit, "rate_limit_per_source", {&c.rate_limit});
  check(a.rate_limit_burst != b.rate_limit_burst, "rate_limit_burst", {&c.rate_limit});
  if (dns_changed) {
    c.keys.emplace_back("dns_servers");
    c.discovery = true;
  }
  // A field added to Route without a line above still counts as a change.
  config::Route named = b;
  named.name = a.name;
  if (c.keys.empty() && !(a == named)) c.keys.emplace_back("other");
  // A new health table needs a checker that reports to it.
  if (c.health) c.checker = true;
  return c;
}

}  // namespace edge::app
