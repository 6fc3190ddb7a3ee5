#pragma once
// One option's raw text, where it came from, and how it is checked and written into a Config.
// Shared by the flag/env reader and the TOML file reader: a value means the same wherever it is
// written; only the error line differs (flag and env var, or file, line, route and key).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/load.h"
#include "config/options.h"

namespace edge::config {

// Where in the configuration file a value was written.
struct FilePlace {
  std::string path;
  uint32_t line = 0;
  std::string route;  // "" at the top level, else `route "NAME"` or `route #N`
};

// "edge-connector: PATH:LINE: route "NAME": " (the route part only inside a [[route]] table).
std::string filePrefix(const FilePlace& place);

// The raw text of one option and where it came from.
struct Raw {
  const OptionSpec* spec = nullptr;
  std::vector<std::string> values;  // flags, the env var (split when repeatable), or the file's
  std::string env_text;             // the env var as set, when the values came from it
  std::optional<FilePlace> file;    // set when the values came from the file
  bool integer = false;             // file only: written as a TOML integer (shown unquoted)
};

class Validator {
 public:
  explicit Validator(LoadResult& result) : result_(result) {}

  // One error line about `raw`'s option, in the form its source calls for.
  void fail(const Raw& raw, std::optional<std::string_view> value, std::string_view why);
  // Flag-form line (no file): "error: --flag / ENV: 'value' why".
  void fail(const OptionSpec& spec, std::optional<std::string_view> value, std::string_view why);
  void line(std::string text) { result_.errors.push_back(std::move(text)); }
  void note(std::string text) { result_.notes.push_back(std::move(text)); }

  std::optional<uint16_t> port(const Raw& raw);
  // A duration within the option's range; `off_allowed`: "off" (or 0) gives nullopt inside.
  std::optional<std::optional<Duration>> duration(const Raw& raw, bool off_allowed);

 private:
  LoadResult& result_;
};

// Writes one given option into `config` (global scope) or `route` (route scope), after checking
// its value; a bad value leaves the field as it was and adds one error line.
void apply(const Raw& raw, Config& config, Route& route, Validator& v);

// Applies `raws` in order, --type first (what later checks read depends on it).
void applyAll(const std::vector<Raw>& raws, Config& config, Route& route, Validator& v);

// "NAME" checks for a route name: 1-64 of [A-Za-z0-9_.-]; nullopt when fine.
std::optional<std::string> routeNameProblem(std::string_view name);

const OptionSpec& specOf(std::string_view flag);

}  // namespace edge::config
