#pragma once
// A route's counters summed over every worker (the scrape side of metrics/worker_metrics.h).

#include <array>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "app/worker.h"
#include "metrics/worker_metrics.h"

namespace edge::admin {

struct TargetTotals {
  uint64_t attempts = 0;
  std::array<uint64_t, metrics::kConnectFailures> failures{};
  uint64_t opened = 0;
  uint64_t closed = 0;
  uint64_t active() const { return opened >= closed ? opened - closed : 0; }
};

struct RouteTotals {
  uint64_t accepted = 0;
  std::array<uint64_t, metrics::kCloseReasons> closed{};
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
  std::array<uint64_t, metrics::kLimits> refused{};
  std::vector<uint64_t> connect_buckets;
  uint64_t connect_sum_us = 0;
  std::vector<uint64_t> connection_buckets;
  uint64_t connection_sum_us = 0;
  std::unordered_map<net::Endpoint, TargetTotals, net::EndpointHash> targets;

  uint64_t closedTotal() const;
  uint64_t active() const;  // accepted - closed (each read once: may lag a moment, never < 0)
};

RouteTotals sumRoute(const std::vector<std::unique_ptr<app::Worker>>& workers,
                     std::string_view route);

}  // namespace edge::admin
