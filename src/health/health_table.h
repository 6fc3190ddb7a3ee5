#pragma once
// Health of the target endpoints, one table per process, shared by every worker and the health
// checker. Keyed by endpoint so the state survives target set refreshes.
//
// Passive ejection: a failed connect ejects the endpoint for a back-off (--refused-backoff,
// doubling on each further failure up to --eject-max). Once the back-off has passed, exactly one
// connection claims the probe; its success readmits the endpoint (back-off reset), its failure
// doubles the back-off. A claimed probe that never reports (its connection was aborted) frees
// the slot after `probe_expiry`.
// Active checks: a failed health check ejects the endpoint until a check passes; connections
// (probes included) cannot readmit it, since a TCP connect proves nothing about the greeting.
//
// Thread-safe. Readers (every connect, through a per-worker Reader) take no lock in the common
// case: an atomic entry count says whether anything is ejected at all (nothing: one load); else
// the Reader's own copy of the immutable map, refreshed (under the mutex) only after a write
// changed the table's version, leads to entries whose fields are atomics. Writers (failures,
// readmissions, check results: rare) hold the mutex and log one line per change of state.
// (Not std::atomic<std::shared_ptr>: libstdc++ 12's load() releases its lock bit with relaxed
// order, which TSan reports as a race with the next store.)

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "discovery/target_board.h"
#include "net/endpoint.h"

namespace edge::health {

class HealthTable {
 public:
  using Clock = std::chrono::steady_clock;

  struct Settings {
    Clock::duration backoff{std::chrono::seconds(5)};       // 0: failed connects eject nothing
    Clock::duration backoff_max{std::chrono::seconds(30)};  // raised to `backoff` if below it
    Clock::duration probe_expiry{std::chrono::seconds(10)};
  };

 private:
  struct Entry {
    std::atomic<int64_t> until{0};        // the passive back-off ends (Clock ticks)
    std::atomic<int64_t> probe_until{0};  // 0: no probe out; else when the claimed one expires
    std::atomic<bool> check_failed{false};
    // Writers only (under mutex_).
    Clock::duration backoff{};
    std::string name;
  };
  using Map = std::unordered_map<net::Endpoint, std::shared_ptr<Entry>, net::EndpointHash>;

 public:
  // `board`, if given, is where endpoints that left DNS are looked up to forget them.
  explicit HealthTable(Settings settings, const discovery::TargetBoard* board = nullptr);

  // What one connect sees: take once per pick, ask per endpoint. No lock.
  class View {
   public:
    // Whether a connection may pick `endpoint`: healthy, or its back-off passed and nobody
    // holds its probe. A pick must then claim() it.
    bool admits(const net::Endpoint& endpoint, Clock::time_point now) const;
    // After a pick: true if the connection may go to `endpoint` (healthy, or it won the
    // probe); false if another connection claimed the probe first (pick again).
    bool claim(const net::Endpoint& endpoint, Clock::time_point now) const;

   private:
    friend class HealthTable;
    friend class Reader;
    Entry* find(const net::Endpoint& endpoint) const;
    const Map* map_ = nullptr;  // null: nothing is ejected; else kept alive by the Reader
    Clock::duration probe_expiry_{};
  };

  // One per worker (or thread): its copy of the current map. Not thread-safe itself.
  class Reader {
   public:
    explicit Reader(HealthTable& table) : table_(table) {}
    // Valid until the next call.
    View view();
    // A connect succeeded: readmits a passively ejected endpoint (locks only then).
    void connectSucceeded(const net::Endpoint& endpoint, std::string_view name);

   private:
    HealthTable& table_;
    uint64_t version_ = 0;  // of map_; the table starts at 1
    std::shared_ptr<const Map> map_;
  };

  // A connect to `endpoint` failed (refused, timed out, unreachable): `cause` says how.
  void connectFailed(const net::Endpoint& endpoint, std::string_view name, std::string_view cause,
                     Clock::time_point now);
  // A connect succeeded (callers go through Reader::connectSucceeded, which asks first).
  void connectSucceeded(const net::Endpoint& endpoint, std::string_view name);

  // Results of active health checks (health/checker.h).
  void checkFailed(const net::Endpoint& endpoint, std::string_view name, std::string_view cause);
  void checkPassed(const net::Endpoint& endpoint, std::string_view name);

  // A connection tries an ejected target because every untried one is ejected: logs that once
  // per episode (until the next readmission).
  void failingOpen();

  // Forgets endpoints that are no longer in the board's target set (also done on every write).
  void prune();

  // For tests (each call takes the lock).
  bool ejected(const net::Endpoint& endpoint, Clock::time_point now) {
    Reader reader(*this);
    return !reader.view().admits(endpoint, now);
  }
  bool claim(const net::Endpoint& endpoint, Clock::time_point now) {
    Reader reader(*this);
    return reader.view().claim(endpoint, now);
  }
  size_t size() const { return count_.load(std::memory_order_acquire); }

  // For /targets and /metrics (any thread; takes the lock).
  // "healthy", "ejected" (back-off running), "probing" (back-off over, waiting for a probe's
  // verdict) or "check_failed" (until a health check passes).
  std::string_view stateOf(const net::Endpoint& endpoint, Clock::time_point now) const;
  struct Counts {
    uint64_t ejections = 0;
    uint64_t readmissions = 0;
  };
  // Endpoints of the current target set that were ever ejected.
  std::vector<std::pair<net::Endpoint, Counts>> counts() const;
  Clock::duration backoffOf(const net::Endpoint& endpoint) const;

 private:
  static int64_t ticks(Clock::time_point t) { return t.time_since_epoch().count(); }
  // Under mutex_: publishes `map` (after pruning it) as the current one.
  void publishLocked(std::shared_ptr<Map> map);
  void readmitLocked(const net::Endpoint& endpoint, std::string_view name);

  const Settings settings_;
  const discovery::TargetBoard* board_;
  std::atomic<size_t> count_{0};      // entries in map_: 0 lets readers skip the map
  std::atomic<uint64_t> version_{1};  // of map_: readers refresh their copy when it moved
  std::shared_ptr<const Map> map_;    // under mutex_
  std::atomic<bool> fail_open_logged_{false};
  std::unordered_map<net::Endpoint, Counts, net::EndpointHash> counts_;  // under mutex_
  mutable std::mutex mutex_;
};

}  // namespace edge::health
