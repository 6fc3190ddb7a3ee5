#pragma once
// Keeps the TargetBoard current: runs a Lookup whenever the last answer's TTL (clamped) runs
// out, keeps the last known good targets when a lookup fails, logs every change.
// Owns its thread and its c-ares channel; start()/stop()/waitFirstRound() are for the main thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "discovery/cares_channel.h"
#include "discovery/lookup.h"
#include "discovery/target_board.h"
#include "net/fd.h"

namespace edge::discovery {

struct DiscoveryStats {
  std::atomic<uint64_t> lookups_ok{0};
  std::atomic<uint64_t> lookups_failed{0};
  std::atomic<uint64_t> target_changes{0};
};

class Discovery {
 public:
  // Returns nullptr and sets `error` when the resolver cannot be set up.
  static std::unique_ptr<Discovery> create(const config::Config& config, TargetBoard& board,
                                           std::string& error);
  ~Discovery();

  void start();
  void stop();
  // Blocks until the first lookup round ended (either way) or the deadline passed.
  bool waitFirstRound(std::chrono::milliseconds deadline);

  const DiscoveryStats& stats() const { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;

  Discovery(const config::Config& config, TargetBoard& board, std::unique_ptr<CaresChannel> channel,
            net::Fd wake);
  void run();
  void onResult(LookupResult result);
  void onSuccess(LookupResult& result, Clock::time_point now);
  void onFailure(const LookupResult& result, Clock::time_point now);

  const config::Config& config_;
  TargetBoard& board_;
  DiscoveryStats stats_;

  // Discovery-thread state. lookup_ is declared before channel_ so the channel (whose
  // destruction completes pending queries) goes first.
  std::unique_ptr<Lookup> lookup_;
  std::unique_ptr<CaresChannel> channel_;
  net::Fd wake_;
  std::shared_ptr<const balance::TargetSet> last_good_;
  Clock::time_point next_due_{};
  Clock::time_point last_success_{};
  unsigned failures_ = 0;
  bool lookup_done_ = false;
  std::vector<std::string> last_warnings_;
  bool expired_ = false;

  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex first_round_mutex_;
  std::condition_variable first_round_cv_;
  bool first_round_done_ = false;
};

}  // namespace edge::discovery
