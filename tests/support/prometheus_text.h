// Reading a Prometheus text exposition (format 0.0.4) in tests: the samples of a /metrics scrape,
// sums over label subsets, and running an outside checker (promtool, a Python parser) on a
// scrape fed to its stdin.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace edge::test {

struct MetricSample {
  std::string name;                           // as written: "x_bucket", "x_count" included
  std::map<std::string, std::string> labels;  // values unescaped
  double value = 0;
};

// Every sample line of `text` (comments and blank lines skipped). A line this reader cannot
// parse is returned with the name "<unparsed: LINE>" so a test fails on it visibly.
std::vector<MetricSample> parse_metrics(const std::string& text);

// The sum of the values of samples named `name` whose labels include all of `match`
// (0 when none matches).
double metric_sum(const std::vector<MetricSample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match = {});
// How many samples named `name` match.
std::size_t metric_count(const std::vector<MetricSample>& samples, const std::string& name,
                         const std::map<std::string, std::string>& match = {});

struct ToolRun {
  std::optional<int> status;  // nullopt: still running at the deadline (then killed)
  std::vector<std::string> out;
  std::vector<std::string> err;
};

// Runs `argv` with `input` as its standard input (through a temporary file).
ToolRun run_with_stdin(const std::vector<std::string>& argv, const std::string& input,
                       std::chrono::milliseconds deadline = std::chrono::seconds(30));

// Whether `program` is an executable file, or found on PATH.
bool have_program(const std::string& program);

}  // namespace edge::test
