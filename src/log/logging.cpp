#include "log/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>

#include "log/json.h"
#include "log/output_writer.h"

namespace edge::log {
namespace {

constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%eZ %l %v";

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view text(msg.payload.data(), msg.payload.size());
    // A line about a connection ends with " id=HEX16": the id becomes a field of its own.
    std::string_view id;
    constexpr std::string_view kId = " id=";
    constexpr size_t kIdLength = 16;
    if (text.size() >= kId.size() + kIdLength &&
        text.substr(text.size() - kIdLength - kId.size(), kId.size()) == kId) {
      const auto digits = text.substr(text.size() - kIdLength);
      if (std::all_of(digits.begin(), digits.end(), isHex)) {
        id = digits;
        text.remove_suffix(kId.size() + kIdLength);
      }
    }
    line_.clear();
    line_ += "{\"ts\":\"";
    appendUtcTimestamp(line_, msg.time);
    line_ += "\",\"level\":";
    const auto level = spdlog::level::to_string_view(msg.level);
    appendJsonString(line_, std::string_view(level.data(), level.size()));
    line_ += ",\"msg\":";
    appendJsonString(line_, text);
    if (!id.empty()) {
      line_ += ",\"id\":\"";
      line_ += id;
      line_ += '"';
    }
    line_ += "}\n";
    dest.append(line_.data(), line_.data() + line_.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::string line_;  // reused: the sink calls format() under its lock
};

class StderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit StderrSink(int fd) : out_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (out_.failed()) return;
    spdlog::memory_buf_t line;
    if (dropped_ > 0) {  // a line of its own, in the same format as the others
      const std::string notice =
          fmt::format("({} log line(s) dropped: stderr was blocked)", dropped_);
      const spdlog::details::log_msg notice_msg(msg.time, spdlog::source_loc{}, msg.logger_name,
                                                spdlog::level::warn, notice);
      formatter_->format(notice_msg, line);
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

std::unique_ptr<spdlog::formatter> makeJsonFormatter() {
  return std::make_unique<JsonFormatter>();
}

std::shared_ptr<spdlog::sinks::sink> makeStderrSink(int fd) {
  return std::make_shared<StderrSink>(fd);
}

void setLevel(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
}

void setFormat(config::LogFormat format) {
  if (format == config::LogFormat::Json) {
    spdlog::set_formatter(makeJsonFormatter());
  } else {
    spdlog::set_pattern(kTextPattern, spdlog::pattern_time_type::utc);
  }
}

void setupLogging(const std::string& level, config::LogFormat format) {
  auto logger = std::make_shared<spdlog::logger>("edge", makeStderrSink());
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
  setFormat(format);
}

}  // namespace edge::log
