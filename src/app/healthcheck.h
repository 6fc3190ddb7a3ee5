#pragma once
// `edge-connector healthcheck [--admin ADDR:PORT] [--ready]`: asks the admin endpoint of a
// running edge-connector for /healthz (or /ready) and exits 0 on HTTP 200, 1 on anything else,
// within kHealthcheckDeadline whatever the server does — for Docker HEALTHCHECK, ECS health
// checks and Kubernetes exec probes, in images without curl.

#include <chrono>

#include "config/load.h"

namespace edge::app {

// Connect, request and answer together; below the 2 s an orchestrator is told to allow.
inline constexpr std::chrono::milliseconds kHealthcheckDeadline{1500};

// argv[1] is "healthcheck". The address: --admin, else EDGE_ADMIN, else the default
// (127.0.0.1:9901); a wildcard address (0.0.0.0, ::) is asked on loopback. Prints one line.
int healthcheck(int argc, const char* const* argv, const config::EnvLookup& env);

}  // namespace edge::app
