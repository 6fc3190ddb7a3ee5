#pragma once
// Counters written by one thread (a worker, the discovery thread) and read by a scrape on
// another. The writer adds with a plain load and store, never a read-modify-write: the hot path
// pays no locked instruction and no cache line is shared between workers. Scrapes sum the
// workers' copies (metrics/worker_metrics.h).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

namespace edge::metrics {

class Counter {
 public:
  // The owning thread only.
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Any thread.
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Buckets with fixed upper bounds in seconds; observations in microseconds (the sum too), so
// the writer stays with integers.
class Histogram {
 public:
  explicit Histogram(std::span<const double> bounds)
      : bounds_(bounds), buckets_(std::make_unique<Counter[]>(bounds.size() + 1)) {}

  void observe(std::chrono::microseconds duration) {
    const double seconds = static_cast<double>(duration.count()) / 1e6;
    size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    buckets_[i].add();
    sum_us_.add(static_cast<uint64_t>(duration.count() > 0 ? duration.count() : 0));
  }

  std::span<const double> bounds() const { return bounds_; }
  // Observations in bucket `i` alone (not cumulative); i == bounds().size() is +Inf's own.
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }
  uint64_t sumMicros() const { return sum_us_.value(); }

 private:
  std::span<const double> bounds_;
  std::unique_ptr<Counter[]> buckets_;
  Counter sum_us_;
};

// Connect latency: loopback connects take tens of microseconds, a cross-zone one milliseconds,
// a retry after a timeout seconds.
inline constexpr double kConnectBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                            1,      2.5,     5,      10};
// Connection duration: from a health probe's milliseconds to an LDAP pool's days.
inline constexpr double kDurationBounds[] = {0.01, 0.1,  1,     10,    60,    300,
                                             900,  3600, 14400, 43200, 86400, 604800};

}  // namespace edge::metrics
