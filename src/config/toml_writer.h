#pragma once
// The configuration as a TOML file (`edge-connector check`, and logs): every option, defaults
// included, global options at the top and one [[route]] table per route with all of its options.
// Loaded back with --config it gives the same Config, except config_file (the file it was then
// loaded from). Durations in their largest whole unit; "off" where an option has that word; an
// option that is not set and has no word for it is a comment.

#include <string>
#include <string_view>

#include "config/config.h"

namespace edge::config {

std::string toToml(const Config& config);

// A TOML basic string: quotes, backslashes and control bytes escaped.
std::string tomlString(std::string_view text);

}  // namespace edge::config
