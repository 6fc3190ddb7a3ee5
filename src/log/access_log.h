#pragma once
// One logfmt line per finished connection, on stdout.
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

#include "log/output_writer.h"
#include "net/endpoint.h"
#include "proxy/close_reason.h"

namespace edge::log {

struct AccessRecord {
  std::chrono::system_clock::time_point end;
  net::Endpoint client;
  std::optional<net::Endpoint> target;
  std::string_view target_name;
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
  std::chrono::microseconds duration{0};
  proxy::CloseReason reason = proxy::CloseReason::None;
  int attempts = 0;
  std::string_view error;  // detail for connect_failed etc.; empty: none
  std::string_view route;  // the route's name (shown after ts); empty: "-"
};

// ts=... route=NAME client=... target=... target_name=... bytes_to_target=N bytes_to_client=N
// duration_ms=N close=REASON attempts=N [error="..."]
std::string formatAccess(const AccessRecord& record);

// Appends the line (with its '\n') to `out`.
void appendAccess(std::string& out, const AccessRecord& record);

class AccessLog {
 public:
  class Shard {
   public:
    void write(const AccessRecord& record);

   private:
    friend class AccessLog;
    std::mutex mutex_;
    std::string lines_;
    uint64_t dropped_ = 0;
  };

  // `shards`: one per writing thread. `fd`: where lines go (stdout; a pipe in tests).
  explicit AccessLog(size_t shards, int fd = 1,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(100),
                     std::chrono::milliseconds stall_limit = std::chrono::seconds(2));
  // Writes every line still buffered, giving up once stdout took nothing for `stall_limit`.
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  Shard& shard(size_t index) { return *shards_[index]; }

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
  bool stop_ = false;                  // guarded by stop_mutex_, for the flusher's sleep
  std::atomic<bool> stopping_{false};  // the same, read while waiting for stdout
  bool write_failed_ = false;
  bool gave_up_ = false;  // stdout stalled during shutdown: the rest is dropped
  std::thread thread_;    // last: started once everything above exists
};

}  // namespace edge::log
