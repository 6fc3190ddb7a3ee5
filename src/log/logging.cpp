#include "log/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "log/output_writer.h"

namespace edge::log {
namespace {

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StderrSink(int fd) : out_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (out_.failed()) return;
    spdlog::memory_buf_t line;
    if (dropped_ > 0) {
      fmt::format_to(std::back_inserter(line), "({} log line(s) dropped: stderr was blocked)\n",
                     dropped_);
    }
    const size_t prefix = line.size();
    formatter_->format(msg, line);
    const std::string_view text(line.data(), line.size());
    // Patience only while stderr is draining: once a line was dropped, the next ones are not
    // made to wait until stderr takes something again.
    const auto patience = dropped_ > 0 ? std::chrono::milliseconds(0) : kPatience;
    const size_t written =
        out_.write(text, [&](OutputWriter::Clock::duration stalled) { return stalled < patience; });
    if (written == text.size()) {
      dropped_ = 0;
    } else if (prefix > 0 && written >= prefix) {
      dropped_ = 1;  // the count went out, this line did not
    } else {
      ++dropped_;
    }
  }
  void flush_() override {}

 private:
  static constexpr std::chrono::milliseconds kPatience{100};
  OutputWriter out_;
  uint64_t dropped_ = 0;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> makeStderrSink(int fd) {
  return std::make_shared<StderrSink>(fd);
}

void setLevel(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

void setupLogging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("edge", makeStderrSink());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace edge::log
