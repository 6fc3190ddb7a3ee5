#include "health/health_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "config/duration.h"

namespace edge::health {
namespace {

std::string durationText(HealthTable::Clock::duration d) {
  return config::formatDuration(std::chrono::duration_cast<config::Duration>(d));
}

}  // namespace

HealthTable::HealthTable(Settings settings, const discovery::TargetBoard* board)
    : settings_{settings.backoff, std::max(settings.backoff, settings.backoff_max),
                settings.probe_expiry},
      board_(board),
      map_(std::make_shared<const Map>()) {}

HealthTable::Entry* HealthTable::View::find(const net::Endpoint& endpoint) const {
  if (!map_) return nullptr;
  auto it = map_->find(endpoint);
  return it == map_->end() ? nullptr : it->second.get();
}

bool HealthTable::View::admits(const net::Endpoint& endpoint, Clock::time_point now) const {
  const Entry* e = find(endpoint);
  if (!e) return true;
  if (e->check_failed.load(std::memory_order_acquire)) return false;
  const int64_t t = ticks(now);
  if (t < e->until.load(std::memory_order_acquire)) return false;
  const int64_t probe = e->probe_until.load(std::memory_order_acquire);
  return probe == 0 || t >= probe;
}

bool HealthTable::View::claim(const net::Endpoint& endpoint, Clock::time_point now) const {
  Entry* e = find(endpoint);
  if (!e) return true;
  if (e->check_failed.load(std::memory_order_acquire)) return false;
  const int64_t t = ticks(now);
  if (t < e->until.load(std::memory_order_acquire)) return false;
  const int64_t expiry = ticks(now + probe_expiry_);
  int64_t probe = e->probe_until.load(std::memory_order_acquire);
  while (probe == 0 || t >= probe) {  // free, or the last claim expired: try to take it
    if (e->probe_until.compare_exchange_weak(probe, expiry, std::memory_order_acq_rel)) {
      return true;
    }
  }
  return false;
}

HealthTable::View HealthTable::Reader::view() {
  View v;
  if (table_.count_.load(std::memory_order_acquire) == 0) return v;  // the common case
  if (const auto version = table_.version_.load(std::memory_order_acquire); version != version_) {
    std::lock_guard lock(table_.mutex_);  // only after a write
    map_ = table_.map_;
    version_ = table_.version_.load(std::memory_order_relaxed);
  }
  v.map_ = map_.get();
  v.probe_expiry_ = table_.settings_.probe_expiry;
  return v;
}

void HealthTable::Reader::connectSucceeded(const net::Endpoint& endpoint, std::string_view name) {
  const Entry* e = view().find(endpoint);  // no lock in the common case: nothing ejected
  if (!e || e->check_failed.load(std::memory_order_acquire)) return;
  table_.connectSucceeded(endpoint, name);
}

void HealthTable::connectFailed(const net::Endpoint& endpoint, std::string_view name,
                                std::string_view cause, Clock::time_point now) {
  if (settings_.backoff <= Clock::duration::zero()) return;  // --refused-backoff 0: no ejection
  std::lock_guard lock(mutex_);
  const auto current = map_;
  const int64_t t = ticks(now);
  if (auto it = current->find(endpoint); it != current->end()) {
    Entry& e = *it->second;
    // Only a health check readmits what a check ejected; a failure inside the back-off is a
    // connection that started before the ejection, or one failing open: nothing new.
    if (e.check_failed.load(std::memory_order_acquire)) return;
    if (t < e.until.load(std::memory_order_acquire)) return;
    e.backoff = std::min(2 * e.backoff, settings_.backoff_max);
    // Back-off first, probe slot second: no reader sees both open at once.
    e.until.store(ticks(now + e.backoff), std::memory_order_release);
    e.probe_until.store(0, std::memory_order_release);
    ++counts_[endpoint].ejections;
    spdlog::warn("target {} ({}) still failing: {}; next probe in {}", net::format(endpoint),
                 e.name, cause, durationText(e.backoff));
    return;
  }
  auto entry = std::make_shared<Entry>();
  entry->name = name;
  entry->backoff = settings_.backoff;
  entry->until.store(ticks(now + entry->backoff), std::memory_order_relaxed);
  auto next = std::make_shared<Map>(*current);
  next->emplace(endpoint, std::move(entry));
  publishLocked(std::move(next));
  ++counts_[endpoint].ejections;
  spdlog::warn("target {} ({}) ejected: {}; back-off {}", net::format(endpoint), name, cause,
               durationText(settings_.backoff));
}

void HealthTable::connectSucceeded(const net::Endpoint& endpoint, std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = map_->find(endpoint);
  if (it == map_->end() || it->second->check_failed.load(std::memory_order_acquire)) return;
  readmitLocked(endpoint, name);
}

void HealthTable::checkFailed(const net::Endpoint& endpoint, std::string_view name,
                              std::string_view cause) {
  std::lock_guard lock(mutex_);
  const auto current = map_;
  if (auto it = current->find(endpoint); it != current->end()) {
    Entry& e = *it->second;
    if (e.check_failed.exchange(true, std::memory_order_acq_rel)) {
      spdlog::debug("target {} ({}) still failing: {}", net::format(endpoint), e.name, cause);
      return;
    }
  } else {
    auto entry = std::make_shared<Entry>();
    entry->name = name;
    entry->backoff = settings_.backoff;
    entry->check_failed.store(true, std::memory_order_relaxed);
    auto next = std::make_shared<Map>(*current);
    next->emplace(endpoint, std::move(entry));
    publishLocked(std::move(next));
  }
  ++counts_[endpoint].ejections;
  spdlog::warn("target {} ({}) ejected: {}; back until a health check passes",
               net::format(endpoint), name, cause);
}

void HealthTable::checkPassed(const net::Endpoint& endpoint, std::string_view name) {
  if (count_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(mutex_);
  readmitLocked(endpoint, name);
}

void HealthTable::readmitLocked(const net::Endpoint& endpoint, std::string_view name) {
  const auto current = map_;
  if (!current->contains(endpoint)) return;  // another thread readmitted it first
  auto next = std::make_shared<Map>(*current);
  next->erase(endpoint);
  publishLocked(std::move(next));
  ++counts_[endpoint].readmissions;
  fail_open_logged_.store(false, std::memory_order_release);  // a new episode may be logged
  spdlog::info("target {} ({}) readmitted", net::format(endpoint), name);
}

void HealthTable::failingOpen() {
  if (fail_open_logged_.exchange(true, std::memory_order_acq_rel)) return;
  spdlog::warn("every target is ejected: trying them anyway (fail open)");
}

void HealthTable::prune() {
  if (!board_ || count_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(mutex_);
  publishLocked(std::make_shared<Map>(*map_));
}

void HealthTable::publishLocked(std::shared_ptr<Map> map) {
  // Endpoints that left DNS are never connected to (nor checked) again, so nothing would
  // readmit them: forget them here, which keeps the table bounded by the current target set.
  if (board_ && !map->empty()) {
    const auto set = board_->load();
    std::unordered_set<net::Endpoint, net::EndpointHash> known;
    for (const auto& target : set->targets)
      known.insert(target.endpoints.begin(), target.endpoints.end());
    std::erase_if(*map, [&](const auto& kv) { return !known.contains(kv.first); });
    std::erase_if(counts_, [&](const auto& kv) { return !known.contains(kv.first); });
  }
  // Map and version first: a reader that sees the new count refreshes to a map at least as new.
  const size_t size = map->size();
  map_ = std::move(map);
  version_.fetch_add(1, std::memory_order_release);
  count_.store(size, std::memory_order_release);
}

std::string_view HealthTable::stateOf(const net::Endpoint& endpoint, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = map_->find(endpoint);
  if (it == map_->end()) return "healthy";
  const Entry& e = *it->second;
  if (e.check_failed.load(std::memory_order_acquire)) return "check_failed";
  return ticks(now) < e.until.load(std::memory_order_acquire) ? "ejected" : "probing";
}

std::vector<std::pair<net::Endpoint, HealthTable::Counts>> HealthTable::counts() const {
  std::lock_guard lock(mutex_);
  return {counts_.begin(), counts_.end()};
}

HealthTable::Clock::duration HealthTable::backoffOf(const net::Endpoint& endpoint) const {
  std::lock_guard lock(mutex_);
  auto it = map_->find(endpoint);
  return it == map_->end() ? Clock::duration::zero() : it->second->backoff;
}

}  // namespace edge::health
