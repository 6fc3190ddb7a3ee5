#pragma once
// Keeps the TargetBoard current: runs a Lookup whenever the last answer's TTL (clamped) runs
// out, keeps the last known good targets when a lookup fails, logs every change.
// Drops records it must never connect to (target_filter.h) before they can replace the set.
// With --state-file it saves the set whenever it changes and, if DNS does not answer at
// start-up, serves the saved set until it does (discovery/state_file.h).
// Owns its thread and its c-ares channel; start()/stop() are for the main thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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

// Where discovery stands, for /targets, /ready and /metrics (copied under a lock).
struct DiscoveryStatus {
  bool answered = false;  // a lookup round ended (either way)
  std::optional<std::chrono::system_clock::time_point> last_success;  // the last answer
  std::chrono::system_clock::time_point next_lookup{};
  unsigned failures = 0;         // consecutive failed lookups
  bool last_known_good = false;  // DNS fails and the targets are an earlier answer's
  bool from_state_file = false;  // ... or the saved ones (--state-file)
  bool expired = false;          // --max-stale passed: the targets were dropped
  std::string last_error;        // of the last failed lookup
};

class Discovery {
 public:
  // `own_listeners`: the bound endpoints of this process's listening sockets; an answer naming
  // one of them (or, for a wildcard listener, any local address on its port) is dropped, since
  // forwarding to itself loops until descriptors run out. Returns nullptr and sets `error` when
  // the resolver cannot be set up.
  // `config`: the route whose target it discovers (copied); `dns_servers`: empty for the system's.
  static std::unique_ptr<Discovery> create(const config::Route& config,
                                           const std::vector<std::string>& dns_servers,
                                           TargetBoard& board,
                                           std::vector<net::Endpoint> own_listeners,
                                           std::string& error);
  ~Discovery();

  // `on_first_round` runs once, on the discovery thread, when the first lookup round ended
  // (either way); it must only hand the news over (e.g. asio::post).
  void start(std::function<void()> on_first_round = {});
  void stop();

  const DiscoveryStats& stats() const { return stats_; }
  DiscoveryStatus status() const;  // any thread

 private:
  using Clock = std::chrono::steady_clock;

  Discovery(const config::Route& config, TargetBoard& board,
            std::vector<net::Endpoint> own_listeners, std::unique_ptr<CaresChannel> channel,
            net::Fd wake);
  void run();
  void onResult(LookupResult result);
  void onSuccess(LookupResult& result, Clock::time_point now);
  void onFailure(const LookupResult& result, Clock::time_point now);
  // Removes endpoints it must not connect to, with a warning each; an answer left with nothing
  // usable becomes a failure (the last known good targets stay).
  void dropUnusable(LookupResult& result) const;
  // Reads --state-file (start(), main thread): keeps its usable targets in saved_, logs why not.
  void loadSaved();
  // No DNS answer yet: serve the saved set if there is one and --max-stale allows it.
  bool serveSaved(const LookupResult& result, Clock::time_point now);
  // Writes the state file when the set changed or its saved-at is a minute old; a failure is
  // logged once per distinct error.
  void save(bool changed, Clock::time_point now);
  void publishStatus(const LookupResult& result, Clock::time_point now);  // after each round

  const config::Route config_;
  TargetBoard& board_;
  const std::vector<net::Endpoint> own_listeners_;
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
  // --state-file: the saved set until used or replaced (loaded before the thread starts).
  std::shared_ptr<const balance::TargetSet> saved_;
  std::chrono::system_clock::time_point saved_at_{};
  bool serving_saved_ = false;
  Clock::time_point last_save_{};
  bool saved_once_ = false;
  std::string last_save_error_;

  mutable std::mutex status_mutex_;
  DiscoveryStatus status_;  // guarded by status_mutex_

  std::atomic<bool> stopping_{false};
  std::function<void()> on_first_round_;  // discovery thread once started
  std::thread thread_;
};

}  // namespace edge::discovery
