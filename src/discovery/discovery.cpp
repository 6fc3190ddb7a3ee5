#include "discovery/discovery.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <algorithm>

#include "balance/diff.h"
#include "config/duration.h"
#include "discovery/refresh.h"
#include "discovery/state_file.h"
#include "discovery/target_filter.h"
#include "net/cidr.h"

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

std::unique_ptr<Discovery> Discovery::create(const config::Route& config,
                                             const std::vector<std::string>& dns_servers,
                                             TargetBoard& board,
                                             std::vector<net::Endpoint> own_listeners,
                                             std::string& error) {
  auto channel = CaresChannel::create(dns_servers, error);
  if (!channel) return nullptr;
  net::Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) {
    error = "eventfd failed";
    return nullptr;
  }
  return std::unique_ptr<Discovery>(
      new Discovery(config, board, std::move(own_listeners), std::move(channel), std::move(wake)));
}

Discovery::Discovery(const config::Route& config, TargetBoard& board,
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
  loadSaved();
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
      } else if (!config_.target_allow.empty() &&
                 !net::anyContains(config_.target_allow, ep.address())) {
        why = "not in --target-allow";
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

void Discovery::loadSaved() {
  if (!config_.state_file) return;
  const auto& path = *config_.state_file;
  auto loaded = loadStateFile(path, stateQueryOf(config_));
  if (loaded.outcome == LoadedState::Outcome::Missing) {
    spdlog::info("discovery: state file {}: none yet ({}); written once DNS answers", path,
                 loaded.message);
    return;
  }
  if (loaded.outcome == LoadedState::Outcome::Invalid) {
    spdlog::warn("discovery: state file {} ignored: {}", path, loaded.message);
    return;
  }
  // The file is input like a DNS answer: the same addresses are refused, for the same reasons.
  LookupResult check;
  check.targets = std::move(loaded.saved.targets);
  dropUnusable(check);
  for (const auto& w : check.warnings) spdlog::warn("discovery: state file {}: {}", path, w);
  if (!check.error.empty()) {
    spdlog::warn("discovery: state file {} ignored: {}", path, check.error);
    return;
  }
  auto set = std::make_shared<balance::TargetSet>();
  set->targets = std::move(check.targets);
  saved_at_ = loaded.saved.saved_at;
  spdlog::info(
      "discovery: state file {}: {} saved target(s) from {}, served only if DNS does not "
      "answer at start-up",
      path, countEndpoints(*set), formatTimestamp(saved_at_));
  saved_ = std::move(set);
}

bool Discovery::serveSaved(const LookupResult& result, Clock::time_point now) {
  const auto saved = std::exchange(saved_, nullptr);  // considered once
  const auto& path = *config_.state_file;
  // A saved-at in the future (a clock stepped back) counts as saved now.
  const auto age = std::max(std::chrono::system_clock::duration::zero(),
                            std::chrono::system_clock::now() - saved_at_);
  if (config_.max_stale && age >= *config_.max_stale) {
    spdlog::warn(
        "discovery: DNS did not answer; the {} saved target(s) in {} (saved {}) are older than "
        "--max-stale {}: not used (lookup: {})",
        countEndpoints(*saved), path, formatTimestamp(saved_at_),
        config::formatDuration(config_.max_stale), result.error);
    return false;
  }
  auto set = std::make_shared<balance::TargetSet>(*saved);
  // --max-stale counts from saved-at, as if that was the last answer.
  last_success_ = now - std::chrono::duration_cast<Clock::duration>(age);
  set->resolved_at = last_success_;
  spdlog::warn(
      "discovery: DNS did not answer; serving {} saved target(s) from {} (saved {}; "
      "lookup: {}): {}",
      countEndpoints(*set), path, formatTimestamp(saved_at_), result.error,
      listEntries(set->targets));
  serving_saved_ = true;
  last_good_ = set;
  board_.publish(std::move(set));
  return true;
}

void Discovery::save(bool changed, Clock::time_point now) {
  if (!config_.state_file || !last_good_) return;
  // Unchanged: rewritten once a minute all the same, so saved-at (where --max-stale starts after
  // a restart) is at most a minute older than the last answer: it errs toward expiring early.
  if (!changed && last_save_ != Clock::time_point{} && now - last_save_ < std::chrono::minutes(1)) {
    return;
  }
  last_save_ = now;
  const auto& path = *config_.state_file;
  const auto error = saveStateFile(path, formatStateFile(last_good_->targets, stateQueryOf(config_),
                                                         std::chrono::system_clock::now()));
  if (error.empty()) {
    if (!last_save_error_.empty()) spdlog::info("discovery: state file {} written again", path);
    last_save_error_.clear();
    return;
  }
  if (error != last_save_error_) {
    spdlog::warn(
        "discovery: cannot write state file: {} (forwarding goes on; retried when the "
        "targets change, else every minute)",
        error);
  }
  last_save_error_ = error;
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
  publishStatus(result, now);
  if (auto first = std::exchange(on_first_round_, nullptr)) first();
}

DiscoveryStatus Discovery::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void Discovery::publishStatus(const LookupResult& result, Clock::time_point now) {
  const auto wall = std::chrono::system_clock::now();
  auto toWall = [&](Clock::time_point t) {
    return wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - now);
  };
  std::lock_guard lock(status_mutex_);
  status_.answered = true;
  if (last_good_ && last_success_ != Clock::time_point{})
    status_.last_success = toWall(last_success_);
  status_.next_lookup = toWall(next_due_);
  status_.failures = failures_;
  status_.last_known_good = failures_ > 0 && last_good_ && !expired_;
  status_.from_state_file = serving_saved_ && !expired_;
  status_.expired = expired_;
  if (!result.error.empty()) status_.last_error = result.error;
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
  bool changed = true;
  if (!last_good_ || serving_saved_) {
    spdlog::info("discovery: {} -> {} target(s): {} (ttl {}s, next refresh in {}){}",
                 config_.target, countEndpoints(*set), listEntries(set->targets), result.ttl,
                 config::formatDuration(refresh),
                 serving_saved_ ? "; replaces the saved targets" : "");
    serving_saved_ = false;
  } else {
    const auto diff = balance::diffTargets(last_good_->targets, set->targets);
    changed = !diff.empty();
    if (changed) ++stats_.target_changes;
    for (const auto& e : diff.added) spdlog::info("discovery: target added: {}", describe(e));
    for (const auto& e : diff.removed) spdlog::info("discovery: target removed: {}", describe(e));
  }
  saved_.reset();  // DNS answered: the file's set is never served now
  last_good_ = set;
  board_.publish(std::move(set));
  save(changed, now);
}

void Discovery::onFailure(const LookupResult& result, Clock::time_point now) {
  ++stats_.lookups_failed;
  ++failures_;
  const auto retry = retryDelay(failures_, config_.min_refresh, config_.max_refresh);
  next_due_ = now + retry;
  if (!last_good_ && saved_) serveSaved(result, now);

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
