#include "discovery/discovery.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <algorithm>

#include "balance/diff.h"
#include "config/duration.h"
#include "discovery/refresh.h"
#include "discovery/target_filter.h"

namespace edge::discovery {
namespace {

std::string listEntries(const std::vector<balance::Target>& targets) {
  std::string out;
  for (const auto& t : targets) {
    for (const auto& ep : t.endpoints) {
      out += (out.empty() ? "" : ", ") + balance::describe({t.name, ep, t.priority, t.weight});
    }
  }
  return out;
}

size_t countEndpoints(const balance::TargetSet& set) {
  size_t n = 0;
  for (const auto& t : set.targets) n += t.endpoints.size();
  return n;
}

}  // namespace

std::unique_ptr<Discovery> Discovery::create(const config::Config& config, TargetBoard& board,
                                             std::vector<net::Endpoint> own_listeners,
                                             std::string& error) {
  auto channel = CaresChannel::create(config.dns_servers, error);
  if (!channel) return nullptr;
  net::Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) {
    error = "eventfd failed";
    return nullptr;
  }
  return std::unique_ptr<Discovery>(
      new Discovery(config, board, std::move(own_listeners), std::move(channel), std::move(wake)));
}

Discovery::Discovery(const config::Config& config, TargetBoard& board,
                     std::vector<net::Endpoint> own_listeners,
                     std::unique_ptr<CaresChannel> channel, net::Fd wake)
    : config_(config),
      board_(board),
      own_listeners_(std::move(own_listeners)),
      channel_(std::move(channel)),
      wake_(std::move(wake)) {}

Discovery::~Discovery() {
  stop();
}

void Discovery::start(std::function<void()> on_first_round) {
  on_first_round_ = std::move(on_first_round);
  thread_ = std::thread([this] { run(); });
}

void Discovery::stop() {
  if (stopping_.exchange(true)) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void Discovery::run() {
  while (!stopping_.load()) {
    const auto now = Clock::now();
    if (!lookup_ && now >= next_due_) {
      lookup_ = std::make_unique<Lookup>(*channel_, config_,
                                         [this](LookupResult r) { onResult(std::move(r)); });
      lookup_->start();
    }
    if (lookup_done_) {  // dropped here, never inside its own callback
      lookup_.reset();
      lookup_done_ = false;
      continue;
    }
    const auto until_due = std::chrono::duration_cast<std::chrono::milliseconds>(next_due_ - now);
    const auto max_wait = lookup_ ? std::chrono::milliseconds(1000)
                                  : std::max(std::chrono::milliseconds(1), until_due);
    channel_->waitAndProcess(max_wait, wake_.get());
  }
  // Destroy the channel on this thread: pending queries complete with ARES_EDESTRUCTION.
  channel_.reset();
  lookup_.reset();
}

void Discovery::dropUnusable(LookupResult& result) const {
  if (!result.error.empty()) return;
  const auto local =
      own_listeners_.empty() ? std::vector<asio::ip::address>{} : localInterfaceAddresses();
  size_t dropped = 0;
  for (auto& target : result.targets) {
    std::erase_if(target.endpoints, [&](const net::Endpoint& ep) {
      std::string why;
      if (auto reason = unusableReason(ep)) {
        why = *reason;
      } else if (isOwnListener(ep, own_listeners_, local)) {
        why = "this process's own listener (forwarding to it would loop)";
      } else {
        return false;
      }
      result.warnings.push_back("dropped target " + target.name + " " + net::format(ep) + ": " +
                                why);
      ++dropped;
      return true;
    });
  }
  std::erase_if(result.targets, [](const balance::Target& t) { return t.endpoints.empty(); });
  if (result.targets.empty()) {
    result.error = "no usable target (" + std::to_string(dropped) + " address(es) dropped)";
  }
}

void Discovery::onResult(LookupResult result) {
  lookup_done_ = true;
  const auto now = Clock::now();
  dropUnusable(result);
  // Warnings repeat every round while the records stay the same: log only new ones, once.
  std::vector<std::string> seen;
  for (auto& w : result.warnings) {
    if (std::find(seen.begin(), seen.end(), w) != seen.end()) continue;
    if (std::find(last_warnings_.begin(), last_warnings_.end(), w) == last_warnings_.end()) {
      spdlog::warn("discovery: {}: {}", config_.target, w);
    }
    seen.push_back(std::move(w));
  }
  last_warnings_ = std::move(seen);
  if (result.error.empty()) {
    onSuccess(result, now);
  } else {
    onFailure(result, now);
  }
  if (auto first = std::exchange(on_first_round_, nullptr)) first();
}

void Discovery::onSuccess(LookupResult& result, Clock::time_point now) {
  ++stats_.lookups_ok;
  if (failures_ > 0) {
    spdlog::info("discovery: {} answers again after {} failed lookup(s)", config_.target,
                 failures_);
  }
  failures_ = 0;
  expired_ = false;
  last_success_ = now;
  const auto refresh = clampRefresh(result.ttl, config_.min_refresh, config_.max_refresh);
  next_due_ = now + refresh;

  auto set = std::make_shared<balance::TargetSet>();
  set->targets = std::move(result.targets);
  set->resolved_at = now;
  if (!last_good_) {
    spdlog::info("discovery: {} -> {} target(s): {} (ttl {}s, next refresh in {})", config_.target,
                 countEndpoints(*set), listEntries(set->targets), result.ttl,
                 config::formatDuration(refresh));
  } else {
    const auto diff = balance::diffTargets(last_good_->targets, set->targets);
    if (!diff.empty()) ++stats_.target_changes;
    for (const auto& e : diff.added) spdlog::info("discovery: target added: {}", describe(e));
    for (const auto& e : diff.removed) spdlog::info("discovery: target removed: {}", describe(e));
  }
  last_good_ = set;
  board_.publish(std::move(set));
}

void Discovery::onFailure(const LookupResult& result, Clock::time_point now) {
  ++stats_.lookups_failed;
  ++failures_;
  const auto retry = retryDelay(failures_, config_.min_refresh, config_.max_refresh);
  next_due_ = now + retry;

  const bool stale_expired =
      last_good_ && config_.max_stale && now - last_success_ >= *config_.max_stale;
  if (stale_expired && !expired_) {
    expired_ = true;
    spdlog::error(
        "discovery: {} lookup failed ({}); last known good targets are older than "
        "--max-stale {}: dropping them, new connections are refused",
        config_.target, result.error, config::formatDuration(config_.max_stale));
    board_.publish(std::make_shared<const balance::TargetSet>());
    return;
  }
  // Log the first failure and then every tenth, so an outage is visible but not a flood.
  if (failures_ == 1 || failures_ % 10 == 0) {
    if (last_good_ && !expired_) {
      spdlog::warn(
          "discovery: {} lookup failed ({}), failure #{}; keeping {} last known good "
          "target(s), retry in {}",
          config_.target, result.error, failures_, countEndpoints(*last_good_),
          config::formatDuration(retry));
    } else {
      spdlog::warn("discovery: {} lookup failed ({}), failure #{}; no targets known, retry in {}",
                   config_.target, result.error, failures_, config::formatDuration(retry));
    }
  }
}

}  // namespace edge::discovery
