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

bool HealthTable::View::admits(const net::Endpoint& endpoint, Clock::time_point now) const {
  if (!map_) return true;
  auto it = map_->find(endpoint);
  if (it == map_->end()) return true;
  const Entry& e = *it->second;
  if (e.check_failed.load(std::memory_order_acquire)) return false;
  const int64_t t = ticks(now);
  if (t < e.until.load(std::memory_order_acquire)) return false;
  const int64_t probe = e.probe_until.load(std::memory_order_acquire);
  return probe == 0 || t >= probe;
}

HealthTable::View HealthTable::view() const {
  View v;
  if (count_.load(std::memory_order_acquire) != 0) v.map_ = map_.load(std::memory_order_acquire);
  return v;
}

std::shared_ptr<HealthTable::Entry> HealthTable::find(const net::Endpoint& endpoint) const {
  if (count_.load(std::memory_order_acquire) == 0) return nullptr;
  auto map = map_.load(std::memory_order_acquire);
  auto it = map->find(endpoint);
  return it == map->end() ? nullptr : it->second;
}

bool HealthTable::claim(const net::Endpoint& endpoint, Clock::time_point now) {
  auto entry = find(endpoint);
  if (!entry) return true;
  if (entry->check_failed.load(std::memory_order_acquire)) return false;
  const int64_t t = ticks(now);
  if (t < entry->until.load(std::memory_order_acquire)) return false;
  const int64_t expiry = ticks(now + settings_.probe_expiry);
  int64_t probe = entry->probe_until.load(std::memory_order_acquire);
  while (probe == 0 || t >= probe) {  // free, or the last claim expired: try to take it
    if (entry->probe_until.compare_exchange_weak(probe, expiry, std::memory_order_acq_rel)) {
      spdlog::debug("target {} ({}): this connection is the probe", net::format(endpoint),
                    entry->name);
      return true;
    }
  }
  return false;
}

void HealthTable::connectFailed(const net::Endpoint& endpoint, std::string_view name,
                                std::string_view cause, Clock::time_point now) {
  if (settings_.backoff <= Clock::duration::zero()) return;  // --refused-backoff 0: no ejection
  std::lock_guard lock(mutex_);
  const auto current = map_.load(std::memory_order_acquire);
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
  spdlog::warn("target {} ({}) ejected: {}; back-off {}", net::format(endpoint), name, cause,
               durationText(settings_.backoff));
}

void HealthTable::connectSucceeded(const net::Endpoint& endpoint, std::string_view name) {
  auto entry = find(endpoint);  // no lock in the common case: nothing ejected
  if (!entry || entry->check_failed.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  readmitLocked(endpoint, name);
}

void HealthTable::checkFailed(const net::Endpoint& endpoint, std::string_view name,
                              std::string_view cause) {
  std::lock_guard lock(mutex_);
  const auto current = map_.load(std::memory_order_acquire);
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
  spdlog::warn("target {} ({}) ejected: {}; back until a health check passes",
               net::format(endpoint), name, cause);
}

void HealthTable::checkPassed(const net::Endpoint& endpoint, std::string_view name) {
  if (!find(endpoint)) return;
  std::lock_guard lock(mutex_);
  readmitLocked(endpoint, name);
}

void HealthTable::readmitLocked(const net::Endpoint& endpoint, std::string_view name) {
  const auto current = map_.load(std::memory_order_acquire);
  if (!current->contains(endpoint)) return;  // another thread readmitted it first
  auto next = std::make_shared<Map>(*current);
  next->erase(endpoint);
  publishLocked(std::move(next));
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
  publishLocked(std::make_shared<Map>(*map_.load(std::memory_order_acquire)));
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
  }
  // Map first: a reader that sees the new count finds a map at least as new.
  const size_t size = map->size();
  map_.store(std::move(map), std::memory_order_release);
  count_.store(size, std::memory_order_release);
}

HealthTable::Clock::duration HealthTable::backoffOf(const net::Endpoint& endpoint) const {
  auto entry = find(endpoint);
  if (!entry) return Clock::duration::zero();
  std::lock_guard lock(mutex_);
  return entry->backoff;
}

}  // namespace edge::health
