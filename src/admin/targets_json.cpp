// GET /targets: what each route knows: its DNS state and every target endpoint with its health
// and connections.

#include <nlohmann/json.hpp>

#include "admin/process_view.h"
#include "admin/route_totals.h"

namespace edge::admin {
namespace {

using Json = nlohmann::json;

std::string isoTime(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

std::string listenText(const app::RouteState& r) {
  if (r.bound.empty()) return config::listenKey(r.settings);
  const auto& ep = r.bound.front();
  if (!r.settings.listen_address) return "*:" + std::to_string(ep.port());
  return net::format(ep);
}

Json dnsJson(const app::RouteState& r) {
  Json dns = Json::object();
  if (!r.discovery) {
    dns["error"] = "resolver not set up";
    return dns;
  }
  const auto s = r.discovery->status();
  const auto now = std::chrono::system_clock::now();
  dns["first_lookup_done"] = s.answered;  // either way: see last_answer and failures
  dns["last_answer"] = s.last_success ? Json(isoTime(*s.last_success)) : Json(nullptr);
  dns["ttl_left_s"] =
      s.answered
          ? std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::seconds>(s.next_lookup - now).count())
          : 0;
  dns["failures"] = s.failures;
  dns["last_known_good"] = s.last_known_good;
  dns["from_state_file"] = s.from_state_file;
  dns["expired"] = s.expired;
  dns["last_error"] = s.last_error.empty() ? Json(nullptr) : Json(s.last_error);
  return dns;
}

Json routeJson(const ProcessView& view, const app::RouteState& r) {
  const auto totals = sumRoute(view.workers, r.settings.name);
  const auto set = r.shared.board->load();
  const auto now = std::chrono::steady_clock::now();
  Json targets = Json::array();
  for (const auto& target : set->targets) {
    for (const auto& ep : target.endpoints) {
      auto it = totals.targets.find(ep);
      const TargetTotals tt = it == totals.targets.end() ? TargetTotals{} : it->second;
      targets.push_back({{"name", target.name},
                         {"address", ep.address().to_string()},
                         {"port", ep.port()},
                         {"priority", target.priority},
                         {"weight", target.weight},
                         {"health", r.shared.health->stateOf(ep, now)},
                         {"active_connections", tt.active()},
                         {"connections_total", tt.opened}});
    }
  }
  return {{"name", r.settings.name},
          {"listen", listenText(r)},
          {"target", r.settings.target},
          {"type", config::toString(r.settings.type)},
          {"balance", balance::toString(r.settings.balance)},
          {"active_connections", totals.active()},
          {"connections_total", totals.accepted},
          {"dns", dnsJson(r)},
          {"targets", std::move(targets)}};
}

}  // namespace

std::string targetsJson(const ProcessView& view) {
  Json routes = Json::array();
  view.routes.forEach([&](const app::RouteState& r) { routes.push_back(routeJson(view, r)); });
  // Names come from DNS: replace what is not UTF-8 instead of failing the whole answer.
  return Json{{"routes", std::move(routes)}}.dump(2, ' ', false, Json::error_handler_t::replace) +
         "\n";
}

}  // namespace edge::admin
