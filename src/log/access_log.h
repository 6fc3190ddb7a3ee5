#pragma once
// The access log on stdout: per connection an `open` event once the target connected, a
// `progress` event every --log-progress-interval while it lasts, and a `close` event at its end
// (also for connections that never reached a target), each carrying the connection's id. Which
// events are written: --access-log. As logfmt text or JSON lines (--log-format).
//
// Workers never wait for stdout and never wake another thread per line: each appends to its
// own shard's buffer (a lock only the flusher takes, for a swap), and a flusher thread writes
// every shard's lines every 100 ms. If stdout stalls, a shard stops growing at 4 MiB and
// further lines are dropped and counted (reported on stderr).
//
// The flusher never sits in a write() that cannot finish (log/output_writer.h), so shutdown is
// bounded whatever stdout does (a pipe nobody reads): what stdout has not accepted once it took
// nothing for `stall_limit` is dropped and counted.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "config/config.h"
#include "log/output_writer.h"
#include "net/endpoint.h"
#include "proxy/close_reason.h"

namespace edge::log {

enum class AccessEvent : uint8_t { Open, Progress, Close };
const char* toString(AccessEvent event);  // "open", "progress", "close"

// One event. Which fields a line shows depends on the event:
//   open:     client, route, target, target_name, priority and weight (SRV), connect_ms, attempts
//   progress: client, route, target, target_name, bytes so far, duration_ms so far
//   close:    client, route, target, target_name, bytes, duration_ms, close, attempts, error
struct AccessRecord {
  std::chrono::system_clock::time_point ts;  // when the event happened
  net::Endpoint client;
  std::optional<net::Endpoint> target;
  std::string_view target_name;
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
  std::chrono::microseconds duration{0};
  proxy::CloseReason reason = proxy::CloseReason::None;
  int attempts = 0;
  std::string_view error;  // detail for connect_failed etc.; empty: none
  std::string_view route;  // the route's name; empty: "-" (null in JSON)
  AccessEvent event = AccessEvent::Close;
  uint64_t id = 0;  // the connection's (log/connection_id.h)
  // The picked SRV record's (open); nullopt for A/AAAA discovery, where they mean nothing.
  std::optional<uint16_t> priority{};
  std::optional<uint16_t> weight{};
  std::chrono::microseconds connect_time{0};  // open: from accept to connected
};

// Text (logfmt), one line, e.g. for close:
// ts=... event=close id=HEX16 route=NAME client=... target=... target_name=... bytes_to_target=N
// bytes_to_client=N duration_ms=N close=REASON attempts=N [error="..."]
// JSON: one object with the same keys; numbers are numbers, a missing target or name is null.
std::string formatAccess(const AccessRecord& record,
                         config::LogFormat format = config::LogFormat::Text);

// Appends the line (with its '\n') to `out`.
void appendAccess(std::string& out, const AccessRecord& record,
                  config::LogFormat format = config::LogFormat::Text);

// What the access log writes, fixed at start-up.
struct AccessLogSettings {
  config::LogFormat format = config::LogFormat::Text;
  config::AccessLogEvents events;  // all three by default
  // Progress events for connections open this long, and again every interval; nullopt: none.
  std::optional<std::chrono::milliseconds> progress_interval = std::chrono::minutes(10);

  static AccessLogSettings from(const config::Config& config);
  bool wants(AccessEvent event) const {
    switch (event) {
      case AccessEvent::Open:
        return events.open;
      case AccessEvent::Progress:
        return events.progress && progress_interval.has_value();
      case AccessEvent::Close:
        return events.close;
    }
    return false;
  }
};

class AccessLog {
 public:
  class Shard {
   public:
    // Drops events the settings do not want (callers may ask wants() first, to skip building
    // the record).
    void write(const AccessRecord& record);
    bool wants(AccessEvent event) const { return settings_.wants(event); }
    const AccessLogSettings& settings() const { return settings_; }
    // This shard's position (one shard per worker: the worker's index).
    size_t index() const { return index_; }

   private:
    friend class AccessLog;
    Shard(const AccessLogSettings& settings, size_t index) : settings_(settings), index_(index) {}

    const AccessLogSettings settings_;
    const size_t index_;
    std::mutex mutex_;
    std::string lines_;
    uint64_t dropped_ = 0;  // since the last flush (reported on stderr)
    // Since the start, for dropped(): written under mutex_, read by any thread without it.
    std::atomic<uint64_t> dropped_total_{0};
  };

  // `shards`: one per writing thread. `fd`: where lines go (stdout; a pipe in tests).
  explicit AccessLog(size_t shards, AccessLogSettings settings = {}, int fd = 1,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(100),
                     std::chrono::milliseconds stall_limit = std::chrono::seconds(2));
  // Writes every line still buffered, giving up once stdout took nothing for `stall_limit`.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  Shard& shard(size_t index) { return *shards_[index]; }
  // Lines dropped so far (stdout blocked, or at shutdown), in total; any thread. Never
  // decreases (a Prometheus counter).
  uint64_t dropped() const;

  static constexpr size_t kShardLimit = 4 * 1024 * 1024;

 private:
  void run();
  void flushAll(std::string& scratch);

  std::vector<std::unique_ptr<Shard>> shards_;
  OutputWriter out_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds stall_limit_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;                           // guarded by stop_mutex_, for the flusher's sleep
  std::atomic<bool> stopping_{false};           // the same, read while waiting for stdout
  std::atomic<uint64_t> dropped_unwritten_{0};  // taken from the shards, then not written
  bool write_failed_ = false;
  bool gave_up_ = false;  // stdout stalled during shutdown: the rest is dropped
  std::thread thread_;    // last: started once everything above exists
};

}  // namespace edge::log
