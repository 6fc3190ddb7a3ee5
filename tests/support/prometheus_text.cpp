#include "prometheus_text.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "subprocess.h"

namespace edge::test {
namespace {

// Parses `{a="x",b="y"}` at `at` (just past the name); false on a syntax error.
bool parse_labels(const std::string& line, std::size_t& at,
                  std::map<std::string, std::string>& labels) {
  ++at;  // '{'
  while (at < line.size() && line[at] != '}') {
    const auto eq = line.find('=', at);
    if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
    const std::string key = line.substr(at, eq - at);
    std::string value;
    std::size_t i = eq + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        const char next = line[++i];
        value += next == 'n' ? '\n' : next;
      } else {
        value += line[i];
      }
    }
    if (i >= line.size()) return false;
    labels[key] = value;
    at = i + 1;
    if (at < line.size() && line[at] == ',') ++at;
  }
  if (at >= line.size()) return false;
  ++at;  // '}'
  return true;
}

bool matches(const MetricSample& s, const std::string& name,
             const std::map<std::string, std::string>& match) {
  if (s.name != name) return false;
  for (const auto& [key, value] : match) {
    auto it = s.labels.find(key);
    if (it == s.labels.end() || it->second != value) return false;
  }
  return true;
}

}  // namespace

std::vector<MetricSample> parse_metrics(const std::string& text) {
  std::vector<MetricSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    MetricSample sample;
    std::size_t at = line.find_first_of("{ ");
    bool ok = at != std::string::npos;
    if (ok) {
      sample.name = line.substr(0, at);
      if (line[at] == '{') ok = parse_labels(line, at, sample.labels);
    }
    if (ok) {
      const std::string value = line.substr(at);
      char* end = nullptr;
      sample.value = std::strtod(value.c_str(), &end);
      ok = end != value.c_str() && (*end == '\0' || *end == ' ');
    }
    if (!ok) {
      sample = MetricSample{};
      sample.name = "<unparsed: " + line + ">";
    }
    out.push_back(std::move(sample));
  }
  return out;
}

double metric_sum(const std::vector<MetricSample>& samples, const std::string& name,
                  const std::map<std::string, std::string>& match) {
  double sum = 0;
  for (const auto& s : samples) {
    if (matches(s, name, match)) sum += s.value;
  }
  return sum;
}

std::size_t metric_count(const std::vector<MetricSample>& samples, const std::string& name,
                         const std::map<std::string, std::string>& match) {
  std::size_t count = 0;
  for (const auto& s : samples) count += matches(s, name, match) ? 1 : 0;
  return count;
}

ToolRun run_with_stdin(const std::vector<std::string>& argv, const std::string& input,
                       std::chrono::milliseconds deadline) {
  char path[] = "/tmp/edge-test-stdin-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  std::ofstream(path, std::ios::binary) << input;
  // sh redirects the file to the program's stdin; "$@" keeps the arguments as given.
  std::vector<std::string> command = {"sh", "-c", std::string("exec \"$@\" < '") + path + "'",
                                      "sh"};
  command.insert(command.end(), argv.begin(), argv.end());
  ToolRun run;
  {
    Subprocess process(SubprocessOptions{.argv = command});
    run.status = process.wait_exit(deadline);
    run.out = process.lines_out();
    run.err = process.lines_err();
  }
  ::unlink(path);
  return run;
}

bool have_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

}  // namespace edge::test
