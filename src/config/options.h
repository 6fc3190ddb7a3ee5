#pragma once
// The one table of options: flag, env var, file key, scope, value form, default, help and accepted
// range. The flag and env parser, the TOML loader, the validation, --help, `check`'s output and
// the README's reference (checked by a unit test) all come from it.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace edge::config {

// How a value is read, which says what unit `min`/`max` are in.
enum class ValueKind {
  Text,     // no numeric range (--target, --type, --log-level, --listen, --dns-server)
  Port,     // a TCP port
  Count,    // a whole number
  Millis,   // a duration, in milliseconds
  Seconds,  // a duration in whole seconds, kept in milliseconds (keepalive)
  Bytes,    // a size with k/m suffixes
};

// Where an option lives: global options at the top level of the file only; route options in a
// [[route]] table, or at the top level as the default of every route.
enum class Scope { Global, Route };

struct OptionSpec {
  std::string_view flag;      // "--listen"
  std::string_view env;       // "LISTENER_PORT"
  std::string_view file_key;  // "listen"; empty: not in the file (--config)
  Scope scope = Scope::Global;
  std::string_view value_name;  // "[ADDR:]PORT"
  std::string_view fallback;    // default as shown to users ("required", "5s", "off")
  std::string_view help;
  bool repeatable = false;
  ValueKind kind = ValueKind::Text;
  int64_t min = 0;  // accepted range in the kind's unit; every numeric value is checked
  int64_t max = 0;  // against it, so each bound is one that the kernel and libraries accept
};

std::span<const OptionSpec> optionTable();

// The spec of `flag` ("--workers"), or nullptr.
const OptionSpec* findOption(std::string_view flag);

// The accepted range as users write it: "1-256", "1s-32767s", "4k-16m", "100ms-8760h"; empty for
// Text options. --help and the README show it.
std::string rangeText(const OptionSpec& spec);

// The largest whole unit: "100ms", "5s", "2m", "8760h" ("0s" for 0).
std::string durationText(int64_t ms);
// "4k", "1m", or plain bytes.
std::string bytesText(int64_t n);

// The spec whose file key is `key` ("target_port"), or nullptr.
const OptionSpec* findFileKey(std::string_view key);

const char* toString(Scope scope);  // "global", "route"

}  // namespace edge::config
