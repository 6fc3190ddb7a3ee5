#pragma once
// Builds a Config from the built-in defaults, the configuration file (--config / EDGE_CONFIG),
// environment variables and command-line flags, each over the one before. Reads the file on
// every call (SIGHUP calls it again with the same argv and environment) and has no other effect.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"

namespace edge::config {

// Returns the value of an environment variable, or nullptr. Injected so tests stay hermetic.
using EnvLookup = std::function<const char*(const char*)>;

struct LoadResult {
  std::optional<Config> config;     // set when start-up may go on
  int exit_code = 0;                // meaningful when config is empty: 0 help/version, 2 error
  std::string output;               // --help / --version text, for stdout
  std::vector<std::string> errors;  // one line per problem, each naming flag, env var and value
  std::vector<std::string> notes;   // harmless surprises worth a log line (ignored values)
};

LoadResult load(int argc, const char* const* argv, const EnvLookup& env);

// The effective configuration for the start-up log: the global options, then one line per route
// ("route NAME: listen=... target=...").
std::vector<std::string> describeLines(const Config& config);
// The same lines joined by "; ".
std::string describe(const Config& config);
// One route: "route NAME: listen=... target=... type=...".
std::string describe(const Route& route);

}  // namespace edge::config
