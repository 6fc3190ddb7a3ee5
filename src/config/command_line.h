#pragma once
// Reads argv into one value list per option of the table, with errors that name the flag and its
// env var. Ours rather than CLI11's parser (CLI11 only formats --help): CLI11 2.1 lets a
// single-value option take several values (`--workers 2 7`, and `[a,b]` split as a list), keeps
// the last of a repeated flag silently, and its messages name no env var and list leftover
// arguments in reverse order.

#include <string>
#include <vector>

namespace edge::config {

struct CommandLine {
  bool help = false;     // --help or -h anywhere: nothing else matters
  bool version = false;  // --version anywhere
  // Per optionTable() entry, in order: the values given; empty when the flag was not given.
  std::vector<std::vector<std::string>> values;
  std::vector<std::string> errors;  // one line per problem, each ending "(see --help)"
};

// Each flag takes one value, as `--flag VALUE` or `--flag=VALUE`, taken literally. A
// single-value flag given twice, or followed by a second value, is an error; a repeatable flag
// (--dns-server) may be repeated and may take several values in a row.
CommandLine scanCommandLine(int argc, const char* const* argv);

}  // namespace edge::config
