#include "metrics/catalog.h"

namespace edge::metrics {
namespace {

using enum Type;

constexpr MetricSpec kCatalog[] = {
    {"edge_build_info", Gauge, "version", "always 1; the version label says which build runs"},
    {"edge_connections_accepted_total", Counter, "route",
     "client connections accepted (those refused by a limit included)"},
    {"edge_connections_active", Gauge, "route", "client connections open now"},
    {"edge_connections_closed_total", Counter, "route,reason",
     "client connections ended, by the access log's close reason"},
    {"edge_bytes_to_target_total", Counter, "route",
     "bytes forwarded from clients to targets, counted when a connection ends"},
    {"edge_bytes_to_client_total", Counter, "route",
     "bytes forwarded from targets to clients, counted when a connection ends"},
    {"edge_connect_attempts_total", Counter, "route,target", "connects started to a target"},
    {"edge_connect_failures_total", Counter, "route,target,reason",
     "connects to a target that failed: refused, timeout or other"},
    {"edge_target_connections_total", Counter, "route,target",
     "connections forwarded to a target (connected)"},
    {"edge_target_connections_active", Gauge, "route,target", "connections open now to a target"},
    {"edge_connect_duration_seconds", Histogram, "route",
     "from accept to the target's connect completing, retries included"},
    {"edge_connection_duration_seconds", Histogram, "route", "from accept to the end"},
    {"edge_dns_lookups_total", Counter, "route,result", "DNS lookup rounds: ok or failed"},
    {"edge_dns_last_success_timestamp_seconds", Gauge, "route",
     "Unix time of the last successful DNS lookup (0: none yet)"},
    {"edge_targets", Gauge, "route", "target endpoints known now (DNS, last known good or saved)"},
    {"edge_target_ejections_total", Counter, "route,target",
     "times a target was taken out of rotation (failed connect or health check)"},
    {"edge_target_readmissions_total", Counter, "route,target",
     "times an ejected target was taken back"},
    {"edge_health_checks_total", Counter, "route,target,result",
     "active health checks: passed or failed"},
    {"edge_limit_refusals_total", Counter, "route,limit",
     "clients closed at once by a limit: max_connections, max_connections_per_source, "
     "rate_limit_per_source or descriptors"},
    {"edge_access_log_dropped_total", Counter, "",
     "access-log lines dropped because stdout did not keep up"},
    {"edge_reloads_total", Counter, "result",
     "configuration reloads (SIGHUP or POST /reload): ok or failed"},
};

}  // namespace

std::span<const MetricSpec> catalog() {
  return kCatalog;
}

const MetricSpec* findMetric(std::string_view name) {
  for (const auto& spec : kCatalog) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const char* toString(Type type) {
  switch (type) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace edge::metrics
