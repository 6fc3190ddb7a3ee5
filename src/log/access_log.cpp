#include "log/access_log.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "log/connection_id.h"
#include "log/json.h"

namespace edge::log {
namespace {

// One line, field by field, as logfmt (`key=value`, space-separated) or as one JSON object.
class LineWriter {
 public:
  LineWriter(std::string& out, config::LogFormat format)
      : out_(out), json_(format == config::LogFormat::Json) {
    if (json_) out_ += '{';
  }

  // Text: the value as is, quoted when it holds a space, quote, '=' or control byte; "-" when
  // empty. JSON: a string, or null when empty.
  void text(std::string_view key, std::string_view value) {
    this->key(key);
    if (json_) {
      if (value.empty()) {
        out_ += "null";
      } else {
        appendJsonString(out_, value);
      }
    } else if (value.empty()) {
      out_ += '-';
    } else if (needsQuotes(value)) {
      appendQuoted(value);
    } else {
      out_ += value;
    }
  }
  // Text: always quoted (free text: error messages).
  void quoted(std::string_view key, std::string_view value) {
    this->key(key);
    if (json_) {
      appendJsonString(out_, value);
    } else {
      appendQuoted(value);
    }
  }
  void number(std::string_view key, uint64_t value) {
    this->key(key);
    fmt::format_to(std::back_inserter(out_), "{}", value);
  }
  void timestamp(std::string_view key, std::chrono::system_clock::time_point t) {
    this->key(key);
    if (json_) out_ += '"';
    appendUtcTimestamp(out_, t);
    if (json_) out_ += '"';
  }
  void end() { out_ += json_ ? "}\n" : "\n"; }

 private:
  void key(std::string_view key) {
    if (!first_) out_ += json_ ? ',' : ' ';
    first_ = false;
    if (json_) {
      out_ += '"';
      out_ += key;
      out_ += "\":";
    } else {
      out_ += key;
      out_ += '=';
    }
  }
  static bool needsQuotes(std::string_view value) {
    return std::any_of(value.begin(), value.end(), [](char c) {
      return static_cast<unsigned char>(c) <= 0x20 || c == '"' || c == '=' || c == '\\' ||
             c == 0x7F;
    });
  }
  // logfmt quoting: escape quote and backslash, drop control bytes (one line, whatever it holds).
  void appendQuoted(std::string_view value) {
    out_ += '"';
    for (char c : value) {
      if (c == '"' || c == '\\') out_ += '\\';
      if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out_ += c;
    }
    out_ += '"';
  }

  std::string& out_;
  bool json_;
  bool first_ = true;
};

}  // namespace

const char* toString(AccessEvent event) {
  switch (event) {
    case AccessEvent::Open:
      return "open";
    case AccessEvent::Progress:
      return "progress";
    case AccessEvent::Close:
      return "close";
  }
  return "?";
}

AccessLogSettings AccessLogSettings::from(const config::Config& config) {
  AccessLogSettings s;
  s.format = config.log_format;
  s.events = config.access_log;
  s.progress_interval = config.log_progress_interval;
  return s;
}

void appendAccess(std::string& out, const AccessRecord& r, config::LogFormat format) {
  net::EndpointText client, target;  // formatted in place: no allocation per line
  LineWriter line(out, format);
  line.timestamp("ts", r.ts);
  line.text("event", toString(r.event));
  line.text("id", ConnectionIdText(r.id).view());
  line.text("route", r.route);
  line.text("client", net::formatInto(r.client, client));
  line.text("target", r.target ? net::formatInto(*r.target, target) : std::string_view());
  line.text("target_name", r.target_name);
  const auto ms = [](std::chrono::microseconds d) {
    return static_cast<uint64_t>(std::max<int64_t>(d.count(), 0) / 1000);
  };
  switch (r.event) {
    case AccessEvent::Open:
      if (r.priority) line.number("priority", *r.priority);
      if (r.weight) line.number("weight", *r.weight);
      line.number("connect_ms", ms(r.connect_time));
      line.number("attempts", static_cast<uint64_t>(std::max(r.attempts, 0)));
      break;
    case AccessEvent::Progress:
      line.number("bytes_to_target", r.bytes_to_target);
      line.number("bytes_to_client", r.bytes_to_client);
      line.number("duration_ms", ms(r.duration));
      break;
    case AccessEvent::Close:
      line.number("bytes_to_target", r.bytes_to_target);
      line.number("bytes_to_client", r.bytes_to_client);
      line.number("duration_ms", ms(r.duration));
      line.text("close", proxy::toString(r.reason));
      line.number("attempts", static_cast<uint64_t>(std::max(r.attempts, 0)));
      if (!r.error.empty()) line.quoted("error", r.error);
      break;
  }
  line.end();
}

std::string formatAccess(const AccessRecord& record, config::LogFormat format) {
  std::string line;
  appendAccess(line, record, format);
  line.pop_back();
  return line;
}

void AccessLog::Shard::write(const AccessRecord& record) {
  if (!wants(record.event)) return;
  std::lock_guard lock(mutex_);
  if (lines_.size() >= kShardLimit) {  // stdout is not keeping up: drop, never block
    ++dropped_;
    dropped_total_.store(dropped_total_.load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);  // under the lock: no read-modify-write
    return;
  }
  appendAccess(lines_, record, settings_.format);
}

AccessLog::AccessLog(size_t shards, AccessLogSettings settings, int fd,
                     std::chrono::milliseconds interval, std::chrono::milliseconds stall_limit)
    : out_(fd), interval_(interval), stall_limit_(stall_limit) {
  for (size_t i = 0; i < shards; ++i)
    shards_.push_back(std::unique_ptr<Shard>(new Shard(settings, i)));
  thread_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stopping_ = true;
  stop_cv_.notify_one();
  thread_.join();
}

uint64_t AccessLog::dropped() const {
  uint64_t total = dropped_unwritten_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) total += shard->dropped_total_.load(std::memory_order_relaxed);
  return total;
}

void AccessLog::run() {
  std::string scratch;
  std::unique_lock lock(stop_mutex_);
  for (;;) {
    const bool stopping = stop_cv_.wait_for(lock, interval_, [this] { return stop_; });
    lock.unlock();
    flushAll(scratch);  // when stopping too: the last lines go out before the process ends
    if (stopping) return;
    lock.lock();
  }
}

void AccessLog::flushAll(std::string& scratch) {
  uint64_t dropped = 0;
  for (auto& shard : shards_) {
    {
      std::lock_guard lock(shard->mutex_);
      scratch.swap(shard->lines_);  // the shard keeps the spare's capacity
      dropped += std::exchange(shard->dropped_, 0);
    }
    const size_t written =
        gave_up_ || out_.failed()
            ? 0
            : out_.write(scratch, [this](OutputWriter::Clock::duration stalled) {
                return !stopping_ || stalled < stall_limit_;  // never give up while running
              });
    if (out_.failed() && !write_failed_) {
      write_failed_ = true;
      spdlog::error("access log: cannot write: {}; no more lines will be written",
                    std::strerror(out_.error()));
    }
    if (written < scratch.size() && !write_failed_) {  // stopping, and stdout took nothing
      gave_up_ = true;
      const auto unwritten = static_cast<uint64_t>(
          std::count(scratch.begin() + static_cast<std::ptrdiff_t>(written), scratch.end(), '\n'));
      dropped += unwritten;
      dropped_unwritten_.fetch_add(unwritten, std::memory_order_relaxed);
    }
    scratch.clear();
  }
  if (dropped == 0) return;
  if (gave_up_) {
    spdlog::warn("access log: dropped {} line(s): stdout took nothing for {} ms at shutdown",
                 dropped, stall_limit_.count());
  } else {
    spdlog::warn("access log: dropped {} line(s): stdout is blocked", dropped);
  }
}

}  // namespace edge::log
