#include "log/access_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
  fmt::format_to(
      std::back_inserter(out),
      "ts={:%Y-%m-%dT%H:%M:%S}.{:03}Z client={} target={} target_name={} bytes_to_target={} "
      "bytes_to_client={} duration_ms={} close={} attempts={}",
      utc, ms.count() % 1000, net::formatInto(r.client, client),
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

namespace {

// How much of `data`, at most `limit` bytes, ends at a line end (all of `limit` when not even
// one line fits).
size_t wholeLines(std::string_view data, size_t limit) {
  if (data.size() <= limit) return data.size();
  const size_t last_end = data.rfind('\n', limit - 1);
  return last_end == std::string_view::npos ? limit : last_end + 1;
}

}  // namespace

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
    : fd_(fd), interval_(interval), stall_limit_(stall_limit) {
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    is_socket_ = S_ISSOCK(st.st_mode);
    is_regular_ = S_ISREG(st.st_mode);
  }
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
    const size_t written = gave_up_ || write_failed_ ? 0 : writeOut(scratch);
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

size_t AccessLog::writeOut(std::string_view data) {
  using Clock = std::chrono::steady_clock;
  constexpr int kPollSliceMs = 100;  // how soon a blocked flusher notices shutdown
  size_t done = 0;
  auto last_progress = Clock::now();
  while (done < data.size()) {
    if (!is_regular_) {
      pollfd p{fd_, POLLOUT, 0};
      const int ready = ::poll(&p, 1, kPollSliceMs);
      if (ready < 0 && errno != EINTR) {
        spdlog::error("access log: cannot wait for stdout: {}", std::strerror(errno));
        write_failed_ = true;
        break;
      }
      if (ready <= 0) {
        if (stopping_ && Clock::now() - last_progress >= stall_limit_) return done;
        continue;
      }
    }
    const size_t left = data.size() - done;
    // POLLOUT on a pipe or terminal promises room for PIPE_BUF bytes: a larger write could
    // block until a reader comes, and then shutdown could not give up. Whole lines only, so
    // giving up never leaves half a line (and a write up to PIPE_BUF is atomic).
    const ssize_t n =
        is_socket_    ? ::send(fd_, data.data() + done, left, MSG_DONTWAIT | MSG_NOSIGNAL)
        : is_regular_ ? ::write(fd_, data.data() + done, left)
                      : ::write(fd_, data.data() + done, wholeLines(data.substr(done), PIPE_BUF));
    if (n > 0) {
      done += static_cast<size_t>(n);
      last_progress = Clock::now();
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    spdlog::error("access log: cannot write: {}; no more lines will be written",
                  std::strerror(n < 0 ? errno : EIO));
    write_failed_ = true;
    break;
  }
  return done;
}

}  // namespace edge::log
