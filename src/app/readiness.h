#pragma once
// Whether the process should get new connections: serving (listening and accepting), at least
// one usable target, not draining. A load balancer or orchestrator in front asks for it (the
// admin endpoint reports it); every change is logged once. Inputs come from the main thread
// (serving, draining) and the discovery thread (targets), so it locks; readers only load an
// atomic.

#include <atomic>
#include <mutex>
#include <string_view>

namespace edge::app {

class Readiness {
 public:
  void setServing(bool serving) {
    update([&] { serving_ = serving; });
  }
  void setHasTargets(bool has_targets) {
    update([&] { has_targets_ = has_targets; });
  }
  void setDraining() {
    update([&] { draining_ = true; });
  }

  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Why not ready ("" when ready): the first of draining, starting, no targets.
  std::string_view reason() const;

 private:
  template <class Change>
  void update(Change&& change) {
    std::lock_guard lock(mutex_);
    change();
    publish();
  }
  void publish();  // under mutex_: recomputes, logs a change
  std::string_view reasonLocked() const;

  mutable std::mutex mutex_;
  bool serving_ = false;
  bool has_targets_ = false;
  bool draining_ = false;
  bool logged_ = false;      // a state was logged: the initial "not ready" is not news
  std::string_view last_{};  // reason last logged
  std::atomic<bool> ready_{false};
};

}  // namespace edge::app
