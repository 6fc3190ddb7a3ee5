#pragma once
// The one table of options: flag, env var, value form, default and help. The parser, --help and
// the README's reference (checked by a unit test) all come from it.

#include <span>
#include <string_view>

namespace edge::config {

struct OptionSpec {
  std::string_view flag;        // "--listen"
  std::string_view env;         // "LISTENER_PORT"
  std::string_view value_name;  // "[ADDR:]PORT"
  std::string_view fallback;    // default as shown to users ("required", "5s", "off")
  std::string_view help;
  bool repeatable = false;
};

std::span<const OptionSpec> optionTable();

}  // namespace edge::config
