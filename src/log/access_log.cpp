#include "log/access_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <iterator>

namespace edge::log {

void appendAccess(std::string& out, const AccessRecord& r) {
  net::EndpointText client, target;  // formatted in place: no allocation per line
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.end.time_since_epoch());
  const std::time_t secs = std::chrono::system_clock::to_time_t(r.end);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  fmt::format_to(std::back_inserter(out),
                 "ts={:%Y-%m-%dT%H:%M:%S}.{:03}Z route={} client={} target={} target_name={} "
                 "bytes_to_target={} "
                 "bytes_to_client={} duration_ms={} close={} attempts={}",
                 utc, ms.count() % 1000, r.route.empty() ? "-" : r.route,
                 net::formatInto(r.client, client),
                 r.target ? net::formatInto(*r.target, target) : std::string_view("-"),
                 r.target_name.empty() ? "-" : r.target_name, r.bytes_to_target, r.bytes_to_client,
                 r.duration.count() / 1000, proxy::toString(r.reason), r.attempts);
  if (!r.error.empty()) {
    out += " error=\"";
    for (char c : r.error) {  // logfmt quoting: escape quote and backslash, drop control bytes
      if (c == '"' || c == '\\') out += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) out += c;
    }
    out += '"';
  }
  out += '\n';
}

std::string formatAccess(const AccessRecord& record) {
  std::string line;
  appendAccess(line, record);
  line.pop_back();
  return line;
}

void AccessLog::Shard::write(const AccessRecord& record) {
  std::lock_guard lock(mutex_);
  if (lines_.size() >= kShardLimit) {  // stdout is not keeping up: drop, never block
    ++dropped_;
    return;
  }
  appendAccess(lines_, record);
}

AccessLog::AccessLog(size_t shards, int fd, std::chrono::milliseconds interval,
                     std::chrono::milliseconds stall_limit)
    : out_(fd), interval_(interval), stall_limit_(stall_limit) {
  for (size_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<Shard>());
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
      dropped += static_cast<uint64_t>(
          std::count(scratch.begin() + static_cast<std::ptrdiff_t>(written), scratch.end(), '\n'));
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
