#pragma once
// Builds a Config from command-line flags and environment variables (flags win over env vars).

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

// One line with the effective configuration, for the start-up log.
std::string describe(const Config& config);

}  // namespace edge::config
