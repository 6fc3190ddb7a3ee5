#include "edge_process.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "config/options.h"
#include "run_until.h"

#ifndef EDGE_CONNECTOR_BIN
#error "EDGE_CONNECTOR_BIN must name the edge-connector binary (set by CMake)"
#endif

namespace edge::test {
namespace {

constexpr std::string_view kListening = "listening on ";

SubprocessOptions subprocess_options(std::vector<std::string> args,
                                     const std::map<std::string, std::string>& env,
                                     const std::vector<std::string>& wrapper = {},
                                     int stdout_fd = -1) {
  args.insert(args.begin(), edge_binary());
  args.insert(args.begin(), wrapper.begin(), wrapper.end());
  return SubprocessOptions{.argv = std::move(args),
                           .set_env = env,
                           .unset_env = edge_env_vars(),
                           .stdout_fd = stdout_fd};
}

std::string joined_tail(const std::vector<std::string>& lines) {
  std::string out;
  const std::size_t from = lines.size() > 20 ? lines.size() - 20 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

}  // namespace

const std::vector<std::string>& edge_env_vars() {
  // From the daemon's own option table, so a new option is never left to leak in from the
  // environment the tests run in.
  static const std::vector<std::string> vars = [] {
    std::vector<std::string> out;
    for (const auto& spec : config::optionTable()) {
      if (!spec.env.empty()) out.emplace_back(spec.env);
    }
    return out;
  }();
  return vars;
}

std::string edge_binary() {
  return EDGE_CONNECTOR_BIN;
}

std::optional<std::uint16_t> parse_listening_port(const std::string& line) {
  const auto at = line.find(kListening);
  if (at == std::string::npos) return std::nullopt;
  const auto from = at + kListening.size();
  const std::string endpoint = line.substr(from, line.find_first_of(" \t", from) - from);
  const auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  unsigned port = 0;
  const char* begin = endpoint.data() + colon + 1;
  const char* end = endpoint.data() + endpoint.size();
  const auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || port == 0 || port > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(port);
}

EdgeProcess::EdgeProcess(EdgeOptions options) {
  const bool has_listen =
      std::find(options.args.begin(), options.args.end(), "--listen") != options.args.end();
  if (options.default_listen && !has_listen) {
    options.args.insert(options.args.begin(), {"--listen", "127.0.0.1:0"});
  }
  process_ = std::make_unique<Subprocess>(
      subprocess_options(options.args, options.env, options.wrapper, options.stdout_fd));
  std::optional<std::string> line;
  run_until(
      [&] {
        line = process_->wait_for_line(Stream::err, kListening, std::chrono::milliseconds(0));
        return line.has_value() || !process_->running();
      },
      options.ready_deadline);
  const auto port = line ? parse_listening_port(*line) : std::nullopt;
  if (!port) {
    const auto status = process_->running() ? std::nullopt : process_->wait_exit({});
    throw std::runtime_error(
        "edge-connector not ready (" +
        (status ? "exit status " + std::to_string(*status) : std::string("still running")) +
        "): " + process_->command_line() + joined_tail(process_->lines_err()));
  }
  port_ = *port;
}

std::vector<LogfmtRecord> EdgeProcess::access_events() const {
  std::vector<LogfmtRecord> records;
  for (const auto& line : process_->lines_out()) records.push_back(LogfmtRecord::parse(line));
  return records;
}

std::vector<LogfmtRecord> EdgeProcess::access_log() const {
  std::vector<LogfmtRecord> records;
  for (auto& record : access_events()) {
    if (record.get("event") == "close") records.push_back(std::move(record));
  }
  return records;
}

bool EdgeProcess::wait_access_log(std::size_t count, std::chrono::milliseconds deadline) const {
  return run_until([&] { return access_log().size() >= count; }, deadline);
}

EdgeRun run_edge_to_exit(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds deadline) {
  Subprocess process(subprocess_options(args, env));
  EdgeRun run;
  run.status = process.wait_exit(deadline);
  run.out = process.lines_out();
  run.err = process.lines_err();
  return run;
}

}  // namespace edge::test
