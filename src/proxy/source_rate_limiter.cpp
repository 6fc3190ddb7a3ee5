#include "proxy/source_rate_limiter.h"

#include <algorithm>

namespace edge::proxy {

SourceRateLimiter::SourceRateLimiter(config::RateLimit rate, uint32_t burst, size_t capacity)
    : per_ns_(static_cast<double>(rate.count) /
              static_cast<double>(std::chrono::nanoseconds(rate.period).count())),
      burst_(std::max<uint32_t>(burst, 1)),
      capacity_(std::max<size_t>(capacity, 1)) {
  // All of it now: the table never allocates while it serves (and never grows past this).
  entries_.reserve(capacity_);
  index_.reserve(capacity_);
}

bool SourceRateLimiter::admit(const asio::ip::address& source, Clock::time_point now) {
  const auto key = net::addressKey(source);
  std::lock_guard lock(mutex_);
  uint32_t i = kNone;
  if (auto it = index_.find(key); it != index_.end()) {
    i = it->second;
    Entry& e = entries_[i];
    const auto elapsed = std::max<int64_t>(0, (now - e.last).count());
    e.tokens = std::min(burst_, e.tokens + static_cast<double>(elapsed) * per_ns_);
    e.last = now;
    unlink(i);
  } else {
    if (entries_.size() < capacity_) {
      i = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
      index_.emplace(key, i);
    } else {  // full: the address seen least recently gives up its slot (and its map node)
      i = tail_;
      unlink(i);
      auto node = index_.extract(entries_[i].key);
      node.key() = key;
      index_.insert(std::move(node));  // no allocation: memory stays what it was when full
    }
    entries_[i] = Entry{key, burst_, now, kNone, kNone};
  }
  pushFront(i);
  Entry& e = entries_[i];
  if (e.tokens < 1.0) return false;
  e.tokens -= 1.0;
  return true;
}

size_t SourceRateLimiter::sources() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

void SourceRateLimiter::unlink(uint32_t i) {
  Entry& e = entries_[i];
  if (e.newer != kNone) entries_[e.newer].older = e.older;
  if (e.older != kNone) entries_[e.older].newer = e.newer;
  if (head_ == i) head_ = e.older;
  if (tail_ == i) tail_ = e.newer;
  e.newer = e.older = kNone;
}

void SourceRateLimiter::pushFront(uint32_t i) {
  Entry& e = entries_[i];
  e.newer = kNone;
  e.older = head_;
  if (head_ != kNone) entries_[head_].newer = i;
  head_ = i;
  if (tail_ == kNone) tail_ = i;
}

}  // namespace edge::proxy
