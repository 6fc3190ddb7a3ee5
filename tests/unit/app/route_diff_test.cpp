// What a reload renews for a changed route: every file key of a route option is reported when
// it changes, and only the parts that depend on it are renewed (targets and health survive
// everything else).
#include "app/route_diff.h"

#include <gtest/gtest.h>

#include <functional>

#include "config/options.h"

namespace edge::app {
namespace {

using namespace std::chrono_literals;

struct Case {
  const char* key;
  std::function<void(config::Route&)> change;
  bool listen = false, listener_options = false, discovery = false, health = false, checker = false;
  bool rate_limit = false;
};

net::Cidr range(const char* text) {
  return *net::Cidr::parse(text);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"listen", [](auto& r) { r.listen_port = 2222; }, true},
      {"target", [](auto& r) { r.target = "other.example"; }, false, false, true},
      {"type", [](auto& r) { r.type = config::RecordType::A; }, false, false, true},
      {"target_port", [](auto& r) { r.target_port = 22; }, false, false, true},
      {"port_override", [](auto& r) { r.port_override = 22; }, false, false, true},
      {"min_refresh", [](auto& r) { r.min_refresh = 2s; }, false, false, true},
      {"max_refresh", [](auto& r) { r.max_refresh = 60s; }, false, false, true},
      {"max_stale", [](auto& r) { r.max_stale = 1h; }, false, false, true},
      {"state_file", [](auto& r) { r.state_file = "/tmp/x"; }, false, false, true},
      {"balance", [](auto& r) { r.balance = balance::Policy::SourceHash; }},
      {"connect_timeout", [](auto& r) { r.connect_timeout = 1s; }, false, false, false, true, true},
      {"connect_retries", [](auto& r) { r.connect_retries = 0; }},
      {"refused_backoff", [](auto& r) { r.refused_backoff = 1s; }, false, false, false, true, true},
      {"eject_max", [](auto& r) { r.eject_max = 1min; }, false, false, false, true, true},
      {"idle_timeout", [](auto& r) { r.idle_timeout = 1min; }},
      {"keepalive", [](auto& r) { r.keepalive.reset(); }, false, true},
      {"user_timeout", [](auto& r) { r.user_timeout.reset(); }, false, true},
      {"health_check_interval", [](auto& r) { r.health_check_interval = 1s; }, false, false, false,
       false, true},
      {"health_check_timeout", [](auto& r) { r.health_check_timeout = 1s; }, false, false, false,
       false, true},
      {"health_check_expect", [](auto& r) { r.health_check_expect = "SSH-"; }, false, false, false,
       false, true},
      {"backlog", [](auto& r) { r.backlog = 16; }, false, true},
      {"send_proxy", [](auto& r) { r.send_proxy = config::ProxyProtocol::V2; }},
      {"accept_proxy", [](auto& r) { r.accept_proxy = true; }},
      {"trusted_proxies", [](auto& r) { r.trusted_proxies = {range("10.0.0.0/8")}; }},
      {"proxy_header_timeout", [](auto& r) { r.proxy_header_timeout = 1s; }},
      {"allow", [](auto& r) { r.allow = {range("10.0.0.0/8")}; }},
      {"deny", [](auto& r) { r.deny = {range("10.0.0.0/8")}; }},
      // Known targets were filtered with the old list: a new lookup filters them again.
      {"target_allow", [](auto& r) { r.target_allow = {range("10.0.0.0/8")}; }, false, false, true},
      {"rate_limit_per_source",
       [](auto& r) {
         r.rate_limit = config::RateLimit{5, 1s};
       },
       false, false, false, false, false, true},
      {"rate_limit_burst", [](auto& r) { r.rate_limit_burst = 9; }, false, false, false, false,
       false, true},
  };
  return kCases;
}

TEST(RouteDiff, EachRouteOptionIsReportedByItsFileKeyAndRenewsOnlyWhatDependsOnIt) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.key);
    config::Route before;
    config::Route after = before;
    c.change(after);
    const auto change = diffRoute(before, after, /*dns_changed=*/false);
    EXPECT_EQ(change.keys, std::vector<std::string>{c.key});
    EXPECT_EQ(change.listen, c.listen);
    EXPECT_EQ(change.listener_options, c.listener_options);
    EXPECT_EQ(change.discovery, c.discovery);
    EXPECT_EQ(change.health, c.health);
    EXPECT_EQ(change.checker, c.checker);
    EXPECT_EQ(change.rate_limit, c.rate_limit);
  }
}

TEST(RouteDiff, EveryRouteOptionOfTheTableHasACase) {
  for (const auto& spec : config::optionTable()) {
    if (spec.scope != config::Scope::Route || spec.file_key == "name") continue;
    bool found = false;
    for (const auto& c : cases()) found = found || spec.file_key == c.key;
    EXPECT_TRUE(found) << spec.file_key << " has no case: does a reload apply it?";
  }
}

TEST(RouteDiff, NothingChangedIsNoChangeAndNewResolversRenewDiscovery) {
  const config::Route route;
  EXPECT_FALSE(diffRoute(route, route, false).any());
  const auto change = diffRoute(route, route, /*dns_changed=*/true);
  EXPECT_EQ(change.keys, std::vector<std::string>{"dns_servers"});
  EXPECT_TRUE(change.discovery);
  EXPECT_FALSE(change.health);
}

}  // namespace
}  // namespace edge::app
