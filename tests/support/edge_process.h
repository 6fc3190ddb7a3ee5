// EdgeProcess: the real edge-connector binary (EDGE_CONNECTOR_BIN), started for one test.
//
// Owns the Subprocess. The daemon's own environment variables are removed from what the child
// inherits, so only what a test sets reaches it. By default it listens on 127.0.0.1:0 and the
// constructor returns once stderr says `listening on ADDR:PORT` (printed after the first DNS
// round), with that port parsed.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "logfmt.h"
#include "subprocess.h"

namespace edge::test {

// Every environment variable the daemon reads.
const std::vector<std::string>& edge_env_vars();
std::string edge_binary();

struct EdgeOptions {
  std::vector<std::string> args{};           // after the program name
  std::map<std::string, std::string> env{};  // e.g. {"TARGET_PORT", "9001"}
  bool default_listen = true;                // add --listen 127.0.0.1:0 unless args has --listen
  std::chrono::milliseconds ready_deadline = std::chrono::seconds(15);
  // Runs the daemon as `wrapper... edge-connector args...` (e.g. a program that restricts it).
  std::vector<std::string> wrapper{};
  int stdout_fd = -1;  // >= 0: the access log goes there instead of being captured
};

class EdgeProcess {
 public:
  // Throws std::runtime_error (with the daemon's stderr) if it is not ready by the deadline.
  explicit EdgeProcess(EdgeOptions options);

  std::uint16_t port() const { return port_; }
  Subprocess& process() { return *process_; }
  const Subprocess& process() const { return *process_; }

  std::vector<std::string> stdout_lines() const { return process_->lines_out(); }
  std::vector<std::string> stderr_lines() const { return process_->lines_err(); }

  // The access log's close events (stdout), one record per finished connection (text format).
  std::vector<LogfmtRecord> access_log() const;
  bool wait_access_log(std::size_t count, std::chrono::milliseconds deadline) const;
  // Every access-log event (open, progress, close), in order.
  std::vector<LogfmtRecord> access_events() const;

 private:
  std::unique_ptr<Subprocess> process_;
  std::uint16_t port_ = 0;
};

// Runs the daemon to its end (for option errors, --help, --version). status is nullopt if it
// was still running at the deadline (it is then killed).
struct EdgeRun {
  std::optional<int> status;
  std::vector<std::string> out;
  std::vector<std::string> err;
};
EdgeRun run_edge_to_exit(const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env,
                         std::chrono::milliseconds deadline = std::chrono::seconds(10));

// The port in a line containing "listening on ADDR:PORT", or nullopt.
std::optional<std::uint16_t> parse_listening_port(const std::string& line);

}  // namespace edge::test
