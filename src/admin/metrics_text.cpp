// GET /metrics: every sample of metrics/catalog.h, summed over the workers at scrape time.

#include <chrono>
#include <set>

#include "admin/process_view.h"
#include "admin/route_totals.h"
#include "metrics/exposition.h"

namespace edge::admin {
namespace {

double seconds(uint64_t micros) {
  return static_cast<double>(micros) / 1e6;
}

size_t countEndpoints(const balance::TargetSet& set) {
  std::set<net::Endpoint> all;
  for (const auto& t : set.targets) all.insert(t.endpoints.begin(), t.endpoints.end());
  return all.size();
}

void addRoute(metrics::Exposition& out, const ProcessView& view, const app::RouteState& r) {
  const std::string_view route = r.settings.name;
  const auto t = sumRoute(view.workers, route);
  out.add("edge_connections_accepted_total", {{"route", route}}, t.accepted);
  out.add("edge_connections_active", {{"route", route}}, t.active());
  // Every reason, zeros included, so that a rate() sees a series start at 0.
  for (size_t i = 1; i < t.closed.size(); ++i) {
    out.add("edge_connections_closed_total",
            {{"route", route}, {"reason", proxy::toString(static_cast<proxy::CloseReason>(i))}},
            t.closed[i]);
  }
  out.add("edge_bytes_to_target_total", {{"route", route}}, t.bytes_to_target);
  out.add("edge_bytes_to_client_total", {{"route", route}}, t.bytes_to_client);
  for (size_t i = 0; i < t.refused.size(); ++i) {
    out.add("edge_limit_refusals_total",
            {{"route", route}, {"limit", metrics::toString(static_cast<metrics::Limit>(i))}},
            t.refused[i]);
  }
  out.histogram("edge_connect_duration_seconds", {{"route", route}}, metrics::kConnectBounds,
                t.connect_buckets, seconds(t.connect_sum_us));
  out.histogram("edge_connection_duration_seconds", {{"route", route}}, metrics::kDurationBounds,
                t.connection_buckets, seconds(t.connection_sum_us));

  // Per target: every endpoint of the current set, and one that left it while connections to
  // it are still open (not every endpoint ever seen: with tasks replaced all day, the series
  // would grow without end).
  const auto set = r.shared.board->load();
  std::set<net::Endpoint> endpoints;
  for (const auto& target : set->targets)
    endpoints.insert(target.endpoints.begin(), target.endpoints.end());
  for (const auto& [ep, totals] : t.targets) {
    if (totals.active() > 0) endpoints.insert(ep);
  }
  for (const auto& ep : endpoints) {
    const auto text = net::format(ep);
    const std::string_view target = text;
    auto it = t.targets.find(ep);
    const TargetTotals tt = it == t.targets.end() ? TargetTotals{} : it->second;
    out.add("edge_connect_attempts_total", {{"route", route}, {"target", target}}, tt.attempts);
    for (size_t i = 0; i < tt.failures.size(); ++i) {
      out.add("edge_connect_failures_total",
              {{"route", route},
               {"target", target},
               {"reason", metrics::toString(static_cast<metrics::ConnectFailure>(i))}},
              tt.failures[i]);
    }
    out.add("edge_target_connections_total", {{"route", route}, {"target", target}}, tt.opened);
    out.add("edge_target_connections_active", {{"route", route}, {"target", target}}, tt.active());
  }

  out.add("edge_targets", {{"route", route}}, static_cast<uint64_t>(countEndpoints(*set)));
  if (r.discovery) {
    const auto& stats = r.discovery->stats();
    out.add("edge_dns_lookups_total", {{"route", route}, {"result", "ok"}},
            stats.lookups_ok.load(std::memory_order_relaxed));
    out.add("edge_dns_lookups_total", {{"route", route}, {"result", "failed"}},
            stats.lookups_failed.load(std::memory_order_relaxed));
    const auto status = r.discovery->status();
    const double last =
        status.last_success
            ? std::chrono::duration<double>(status.last_success->time_since_epoch()).count()
            : 0.0;
    out.add("edge_dns_last_success_timestamp_seconds", {{"route", route}}, last);
  }
  for (const auto& [ep, counts] : r.shared.health->counts()) {
    const auto text = net::format(ep);
    out.add("edge_target_ejections_total", {{"route", route}, {"target", text}}, counts.ejections);
    out.add("edge_target_readmissions_total", {{"route", route}, {"target", text}},
            counts.readmissions);
  }
  if (r.checker) {
    for (const auto& [ep, results] : r.checker->results()) {
      const auto text = net::format(ep);
      out.add("edge_health_checks_total",
              {{"route", route}, {"target", text}, {"result", "passed"}}, results.passed);
      out.add("edge_health_checks_total",
              {{"route", route}, {"target", text}, {"result", "failed"}}, results.failed);
    }
  }
}

}  // namespace

std::string metricsText(const ProcessView& view) {
  metrics::Exposition out;
  out.add("edge_build_info", {{"version", EDGE_VERSION}}, uint64_t{1});
  view.routes.forEach([&](const app::RouteState& r) { addRoute(out, view, r); });
  out.add("edge_access_log_dropped_total", {}, view.access_log_dropped);
  out.add("edge_reloads_total", {{"result", "ok"}}, view.reloads_ok);
  out.add("edge_reloads_total", {{"result", "failed"}}, view.reloads_failed);
  return out.text();
}

}  // namespace edge::admin
