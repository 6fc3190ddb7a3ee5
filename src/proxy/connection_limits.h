#pragma once
// --max-connections and --max-connections-per-source, shared by every worker: a connection is
// admitted when it is accepted and released when its session ends. A client beyond a limit is
// closed at once (close=limit): leaving it in the accept queue would make it hang, and taking a
// target connection for it would spend a descriptor that the limit exists to keep.
// Thread-safe. Without a per-source limit, admit/release cost one atomic add each; with one,
// they also lock a mutex around a map of the sources with open connections.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "net/address_key.h"
#include "net/endpoint.h"

namespace edge::proxy {

class ConnectionLimits {
 public:
  enum class Verdict { Admitted, TotalLimit, SourceLimit };

  ConnectionLimits(size_t max_total, std::optional<size_t> max_per_source);
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // Counts the connection from `client` unless a limit is reached (then counts the refusal
  // and logs, at most once per few seconds).
  Verdict admit(const net::Endpoint& client);
  // An admitted connection ended.
  void release(const net::Endpoint& client);

  size_t open() const { return open_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  size_t maxTotal() const { return max_total_; }
  // Sources with at least one open connection (tests: the map does not keep closed ones).
  size_t sourcesTracked() const;

 private:
  using Clock = std::chrono::steady_clock;
  void noteRefusal(Verdict why, const net::Endpoint& client);

  const size_t max_total_;
  const std::optional<size_t> max_per_source_;
  std::atomic<size_t> open_{0};
  std::atomic<uint64_t> refused_{0};

  mutable std::mutex mutex_;  // guards everything below
  std::unordered_map<net::AddressKey, uint32_t, net::AddressKeyHash> per_source_;
  Clock::time_point last_log_{};
  uint64_t refused_since_log_ = 0;
};

}  // namespace edge::proxy
