// GET /ready: ready when serving, not draining, and every route listens and has a target a
// connection may use. Otherwise every reason, on one line (healthcheck prints it as it is).

#include "admin/process_view.h"

namespace edge::admin {
namespace {

// Why the route cannot take a connection now, or "".
std::string routeProblem(const app::RouteState& r) {
  const std::string name = "route " + r.settings.name + ": ";
  if (r.bound.empty()) return name + "not listening";
  const auto set = r.shared.board->load();
  if (set->empty()) {
    if (!r.discovery) return name + "no resolver";
    const auto s = r.discovery->status();
    if (!s.answered) return name + "no DNS answer yet";
    if (s.expired) {
      return name + "last known good targets expired (--max-stale); DNS: " + s.last_error;
    }
    if (s.failures > 0) return name + "no target known; DNS: " + s.last_error;
    return name + "no usable target in the DNS answer";
  }
  const auto now = std::chrono::steady_clock::now();
  for (const auto& target : set->targets) {
    for (const auto& ep : target.endpoints) {
      const auto state = r.shared.health->stateOf(ep, now);
      if (state == "healthy" || state == "probing") return "";
    }
  }
  return name + "every target is ejected or failing health checks";
}

}  // namespace

std::pair<bool, std::string> readyState(const ProcessView& view) {
  if (const auto base = view.readiness.reason(); base == "draining" || base == "starting") {
    return {false, std::string(base)};
  }
  std::string why;
  view.routes.forEach([&](const app::RouteState& r) {
    if (auto problem = routeProblem(r); !problem.empty())
      why += (why.empty() ? "" : "; ") + problem;
  });
  if (!why.empty()) return {false, why};
  return {true, "ready"};
}

}  // namespace edge::admin
