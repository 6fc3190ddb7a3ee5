#include "admin/route_totals.h"

#include <numeric>

namespace edge::admin {
namespace {

void addHistogram(const metrics::Histogram& h, std::vector<uint64_t>& buckets, uint64_t& sum) {
  buckets.resize(h.bounds().size() + 1);
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += h.bucket(i);
  sum += h.sumMicros();
}

}  // namespace

uint64_t RouteTotals::closedTotal() const {
  return std::accumulate(closed.begin(), closed.end(), uint64_t{0});
}

uint64_t RouteTotals::active() const {
  const auto ended = closedTotal();
  return accepted >= ended ? accepted - ended : 0;
}

RouteTotals sumRoute(const std::vector<std::unique_ptr<app::Worker>>& workers,
                     std::string_view route) {
  RouteTotals t;
  t.connect_buckets.resize(std::size(metrics::kConnectBounds) + 1);
  t.connection_buckets.resize(std::size(metrics::kDurationBounds) + 1);
  for (const auto& w : workers) {
    const auto* c = w->metrics().find(route);
    if (!c) continue;
    // Closes before accepts: a connection accepted and closed between the two reads then counts
    // in neither, never as closed without being accepted.
    for (size_t i = 0; i < t.closed.size(); ++i) t.closed[i] += c->closed[i].value();
    t.accepted += c->accepted.value();
    t.bytes_to_target += c->bytes_to_target.value();
    t.bytes_to_client += c->bytes_to_client.value();
    for (size_t i = 0; i < t.refused.size(); ++i) t.refused[i] += c->refused[i].value();
    addHistogram(c->connect_seconds, t.connect_buckets, t.connect_sum_us);
    addHistogram(c->connection_seconds, t.connection_buckets, t.connection_sum_us);
    c->forEachTarget([&](const net::Endpoint& ep, const metrics::TargetCounters& tc) {
      auto& tt = t.targets[ep];
      tt.closed += tc.closed.value();
      tt.opened += tc.opened.value();
      tt.attempts += tc.attempts.value();
      for (size_t i = 0; i < tt.failures.size(); ++i) tt.failures[i] += tc.failures[i].value();
    });
  }
  return t;
}

}  // namespace edge::admin
