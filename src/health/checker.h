#pragma once
// Active health checks (--health-check-interval): every interval, a connect to every endpoint
// of the current target set (and, with --health-check-expect, a read of its greeting), run
// concurrently up to a bound, each within --health-check-timeout. Results go to the health
// table: a failure ejects the endpoint until a check passes again.
//
// One per process, not per worker: owns its thread and its io_context; reads the board and
// writes the table (both thread-safe). A round that outlasts the interval delays the next one
// (rounds never overlap), so the timeout may exceed the interval.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "discovery/target_board.h"
#include "health/health_table.h"

namespace edge::health {

class Checker {
 public:
  using Clock = std::chrono::steady_clock;

  struct Settings {
    Clock::duration interval{std::chrono::seconds(10)};
    Clock::duration timeout{std::chrono::seconds(2)};
    std::string expect;  // empty: the connect alone
    size_t concurrency = 64;
  };

  Checker(Settings settings, const discovery::TargetBoard& board, HealthTable& table);
  ~Checker();  // stops
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  void start();  // the first round runs at once
  // Ends the thread; checks in progress are abandoned without a verdict. Any thread but the
  // checker's own; idempotent.
  void stop();

  size_t rounds() const { return rounds_.load(std::memory_order_acquire); }  // completed

  struct Results {
    uint64_t passed = 0;
    uint64_t failed = 0;
  };
  // Check results per endpoint of the current target set (any thread).
  std::vector<std::pair<net::Endpoint, Results>> results() const;

 private:
  class Check;
  struct Job {
    net::Endpoint endpoint;
    std::string name;
  };

  void startRound();
  void launchNext();
  void finished(const Job& job, bool passed, const std::string& cause);
  void roundEnded();

  const Settings settings_;
  const std::string timeout_text_;  // "2s", for the log
  const discovery::TargetBoard& board_;
  HealthTable& table_;
  asio::io_context io_{1};
  asio::steady_timer round_timer_{io_};
  Clock::time_point round_started_{};
  std::deque<Job> pending_;  // this round's endpoints not started yet
  size_t running_ = 0;
  std::atomic<size_t> rounds_{0};
  mutable std::mutex results_mutex_;
  std::unordered_map<net::Endpoint, Results, net::EndpointHash> results_;  // results_mutex_
  std::thread thread_;
};

}  // namespace edge::health
