#include "proxy/connection_limits.h"

#include <spdlog/spdlog.h>

#include <cstring>

namespace edge::proxy {
namespace {

// A flood of refused clients must not flood the log: one line per this period at most.
constexpr std::chrono::seconds kLogEvery{10};

}  // namespace

ConnectionLimits::ConnectionLimits(size_t max_total, std::optional<size_t> max_per_source)
    : max_total_(max_total), max_per_source_(max_per_source) {}

ConnectionLimits::Verdict ConnectionLimits::admit(const net::Endpoint& client) {
  if (open_.fetch_add(1, std::memory_order_relaxed) >= max_total_) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    noteRefusal(Verdict::TotalLimit, client);
    return Verdict::TotalLimit;
  }
  if (!max_per_source_) return Verdict::Admitted;
  {
    std::lock_guard lock(mutex_);
    auto& count = per_source_[net::addressKey(client.address())];
    if (count < *max_per_source_) {
      ++count;
      return Verdict::Admitted;
    }
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
  noteRefusal(Verdict::SourceLimit, client);
  return Verdict::SourceLimit;
}

void ConnectionLimits::release(const net::Endpoint& client) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (!max_per_source_) return;
  std::lock_guard lock(mutex_);
  auto it = per_source_.find(net::addressKey(client.address()));
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

size_t ConnectionLimits::sourcesTracked() const {
  std::lock_guard lock(mutex_);
  return per_source_.size();
}

void ConnectionLimits::noteRefusal(Verdict why, const net::Endpoint& client) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  ++refused_since_log_;
  if (last_log_ != Clock::time_point{} && now - last_log_ < kLogEvery) return;
  last_log_ = now;
  const auto others = refused_since_log_ - 1;
  refused_since_log_ = 0;
  const std::string also =
      others ? fmt::format(" ({} other client(s) refused since the last line)", others) : "";
  if (why == Verdict::TotalLimit) {
    spdlog::warn("connection limit reached: {} open, at most {}; closing new clients{}", open(),
                 max_total_, also);
  } else {
    spdlog::warn("per-source limit reached for {} (--max-connections-per-source {}){}",
                 client.address().to_string(), *max_per_source_, also);
  }
}

}  // namespace edge::proxy
