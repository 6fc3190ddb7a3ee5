#pragma once
// Duration parsing for options: "500ms", "5s", "2m", "1h", bare number = seconds.

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace edge::config {

// A number too large to hold gives Duration::max(): the caller checks the option's range and
// names its maximum ("is above the maximum") rather than calling a well-formed value malformed.
std::optional<Duration> parseDuration(std::string_view text);

// "off", "none", "0" → nullopt inside the outer optional; invalid → outer nullopt.
std::optional<std::optional<Duration>> parseOptionalDuration(std::string_view text);

// Compact form for logs: "1500ms", "5s", "off".
std::string formatDuration(std::optional<Duration> d);

}  // namespace edge::config
