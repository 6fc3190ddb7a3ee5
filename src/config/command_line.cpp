#include "config/command_line.h"

#include <cctype>
#include <string_view>

#include "config/error_line.h"
#include "config/options.h"

namespace edge::config {
namespace {

constexpr std::string_view kSeeHelp = " (see --help)";

// "--name", "--name=value", "-x"; not "-1" (a negative number is a value, to be rejected as one).
bool isFlag(std::string_view token) {
  if (token.size() < 2 || token[0] != '-') return false;
  if (token[1] == '-') return token.size() > 2;
  return std::isalpha(static_cast<unsigned char>(token[1])) != 0;
}

}  // namespace

CommandLine scanCommandLine(int argc, const char* const* argv) {
  const auto table = optionTable();
  CommandLine out;
  out.values.resize(table.size());
  std::vector<bool> reported_twice(table.size(), false);

  // The flag the last value went to (a bare value after it is a second one), and whether the
  // last flag was unknown (its value is then not reported again).
  const OptionSpec* current = nullptr;
  bool after_unknown = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view token = argv[i];
    if (token == "--help" || token == "-h") {
      out.help = true;
      continue;
    }
    if (token == "--version") {
      out.version = true;
      continue;
    }
    if (!isFlag(token)) {
      // A bare value with no flag waiting for one.
      if (after_unknown) continue;  // the unknown flag's value: its line says enough
      if (current != nullptr && current->repeatable) {
        out.values[static_cast<size_t>(current - table.data())].emplace_back(token);
      } else if (current != nullptr) {
        out.errors.push_back(errorLine(*current, token, "is a second value; it takes one") +
                             std::string(kSeeHelp));
      } else {
        out.errors.push_back("error: unexpected argument '" + shown(token) +
                             "': every value follows its flag" + std::string(kSeeHelp));
      }
      continue;
    }

    const auto eq = token.find('=');
    const auto name = token.substr(0, eq);
    const OptionSpec* spec = findOption(name);
    current = nullptr;
    after_unknown = spec == nullptr;
    if (spec == nullptr) {
      out.errors.push_back("error: unknown flag '" + shown(name) + "'" + std::string(kSeeHelp));
      continue;
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = token.substr(eq + 1);
    } else if (spec->value_name == "on|off") {
      // A switch: `--accept-proxy` alone turns it on; a value must be attached
      // (`--accept-proxy=off`), so the next token is never taken as one.
      value = "on";
    } else if (i + 1 < argc && !isFlag(argv[i + 1])) {
      value = argv[++i];
    } else {
      out.errors.push_back(errorLine(*spec, std::nullopt, "needs a value") + std::string(kSeeHelp));
      continue;
    }
    if (value.empty()) {
      out.errors.push_back(errorLine(*spec, std::nullopt, "needs a value (it is empty)") +
                           std::string(kSeeHelp));
      continue;
    }
    const auto index = static_cast<size_t>(spec - table.data());
    auto& values = out.values[index];
    if (!spec->repeatable && !values.empty()) {
      if (!reported_twice[index]) {
        out.errors.push_back(errorLine(*spec, std::nullopt,
                                       "is given more than once ('" + shown(values.front()) +
                                           "', then '" + shown(value) + "'); it takes one value") +
                             std::string(kSeeHelp));
        reported_twice[index] = true;
      }
    } else {
      values.emplace_back(value);
    }
    current = spec;
  }
  return out;
}

}  // namespace edge::config
