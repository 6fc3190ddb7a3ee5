#include "backend_process.h"

#include <stdexcept>

#ifndef TEST_BACKEND_BIN
#error "TEST_BACKEND_BIN must name the test_backend binary (set by CMake)"
#endif

namespace edge::test {

std::string test_backend_binary() {
  return TEST_BACKEND_BIN;
}

BackendProcess::BackendProcess(BackendProcessOptions options) {
  std::vector<std::string> argv = {test_backend_binary(),
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(options.port),
                                   "--mode",
                                   options.mode,
                                   "--bytes",
                                   std::to_string(options.bytes),
                                   "--seed",
                                   std::to_string(options.seed)};
  if (!options.greet.empty()) argv.insert(argv.end(), {"--greet", options.greet});
  process_ = std::make_unique<Subprocess>(SubprocessOptions{.argv = std::move(argv)});
  const auto line = process_->wait_for_line(Stream::out, "listening ", std::chrono::seconds(10));
  const auto colon = line ? line->rfind(':') : std::string::npos;
  if (colon == std::string::npos) {
    std::string err;
    for (const auto& l : process_->lines_err()) err += "\n  " + l;
    throw std::runtime_error("test_backend did not start: " + process_->command_line() + err);
  }
  port_ = static_cast<std::uint16_t>(std::stoul(line->substr(colon + 1)));
}

std::vector<LogfmtRecord> BackendProcess::reports() const {
  std::vector<LogfmtRecord> out;
  for (const auto& line : process_->lines_out()) {
    if (line.starts_with("closed ")) out.push_back(LogfmtRecord::parse(line));
  }
  return out;
}

}  // namespace edge::test
