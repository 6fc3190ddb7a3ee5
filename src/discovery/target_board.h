#pragma once
// The current TargetSet, published by discovery and read by workers (once per connection) and
// the health checker. Readers keep their snapshot alive for a whole connection.
// A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's atomic shared_ptr releases its
// internal lock bit with relaxed order, which ThreadSanitizer reports as a race between a
// publish and a load on another thread; its lock is a spin lock in the pointer anyway, so a
// mutex held for one reference-count increment costs the hot path about the same.

#include <functional>
#include <memory>
#include <mutex>

#include "balance/target.h"

namespace edge::discovery {

class TargetBoard {
 public:
  using Snapshot = std::shared_ptr<const balance::TargetSet>;

  Snapshot load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void publish(Snapshot set) {
    {
      std::lock_guard lock(mutex_);
      current_ = set;
    }
    if (on_publish_) on_publish_(*set);
  }
  // Runs on the publishing (discovery) thread after each publish. Set before discovery starts.
  void onPublish(std::function<void(const balance::TargetSet&)> f) { on_publish_ = std::move(f); }

 private:
  std::function<void(const balance::TargetSet&)> on_publish_;
  mutable std::mutex mutex_;
  Snapshot current_{std::make_shared<const balance::TargetSet>()};  // guarded by mutex_
};

}  // namespace edge::discovery
