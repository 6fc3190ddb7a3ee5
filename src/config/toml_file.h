#pragma once
// Reads the configuration file (--config / EDGE_CONFIG, TOML) into raw option values with their
// file positions, sorted by scope. Checks the file's shape: keys known, types right, global keys
// at the top level only, at most kMaxRoutes [[route]] tables. Values themselves are checked when
// applied (config/apply.h), like flags and env vars.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/apply.h"

namespace edge::config {

// Read in one go and kept in memory while parsing: a configuration is a few kB; a larger file is
// a mistake (a log, /dev/zero) that must not cost the process its memory on every SIGHUP.
inline constexpr size_t kMaxConfigBytes = 1024 * 1024;
inline constexpr size_t kMaxRoutes = 1000;

struct FileRoute {
  FilePlace place;     // the [[route]] header's line; route = `route "NAME"` or `route #N`
  bool named = false;  // has a `name` key
  std::vector<Raw> raws;
};

struct ConfigFile {
  std::vector<Raw> globals;         // top-level global options
  std::vector<Raw> route_defaults;  // top-level route options: the default of every route
  std::vector<FileRoute> routes;    // the [[route]] tables, in file order
  // A `route` key is present (even a malformed one, or too many): routes come from the file,
  // not from flags and env vars.
  bool has_routes = false;
};

// nullopt (after adding the error lines) when the file cannot be read or is not TOML; otherwise
// the values, with any shape problems already added as error lines.
std::optional<ConfigFile> readConfigFile(const std::string& path, Validator& v);

}  // namespace edge::config
