#pragma once
// Configuration error lines: "error: --flag / ENV: 'value' why". Values come from users (and
// from whatever templated their task definition), so they are shown escaped and shortened: a
// control byte never reaches the terminal or forges a second line, a 100 kB value costs a line.

#include <optional>
#include <string>
#include <string_view>

#include "config/options.h"

namespace edge::config {

// Printable ASCII stays; backslash, control and non-ASCII bytes become \\, \n, \r, \t, \xNN.
// Beyond kShownBytes input bytes the rest is replaced by "...(N bytes)".
inline constexpr size_t kShownBytes = 64;
std::string shown(std::string_view value);

// "error: --flag / ENV: 'value' why"; without a value "error: --flag / ENV: why".
std::string errorLine(const OptionSpec& spec, std::optional<std::string_view> value,
                      std::string_view why);

}  // namespace edge::config
