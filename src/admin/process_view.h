#pragma once
// What /metrics, /targets and /ready read: the routes, the workers' counters and a few process
// counters. Built and read on the main thread (the admin thread posts its request there and
// waits), so the routes need no lock; the workers' counters and the discovery, health and
// checker states are thread-safe reads.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/readiness.h"
#include "app/routes.h"
#include "app/worker.h"

namespace edge::admin {

struct ProcessView {
  const app::Routes& routes;
  const std::vector<std::unique_ptr<app::Worker>>& workers;
  const app::Readiness& readiness;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  uint64_t access_log_dropped = 0;
};

// GET /metrics: the Prometheus text exposition of metrics/catalog.h.
std::string metricsText(const ProcessView& view);

// GET /targets: {"routes": [{"name", "listen", "target", "type", "dns": {...}, "targets": [...]}]}
std::string targetsJson(const ProcessView& view);

// GET /ready: ready, or why not ("draining", "starting", "route NAME: ...", one per line).
std::pair<bool, std::string> readyState(const ProcessView& view);

}  // namespace edge::admin
