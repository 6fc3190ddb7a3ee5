#pragma once
// The current TargetSet, published by discovery and read by workers without a lock on the hot
// path (an atomic shared_ptr load). Readers keep their snapshot alive for a whole connection.

#include <atomic>
#include <functional>
#include <memory>

#include "balance/target.h"

namespace edge::discovery {

class TargetBoard {
 public:
  using Snapshot = std::shared_ptr<const balance::TargetSet>;

  Snapshot load() const { return current_.load(std::memory_order_acquire); }
  void publish(Snapshot set) {
    current_.store(set, std::memory_order_release);
    if (on_publish_) on_publish_(*set);
  }
  // Runs on the publishing (discovery) thread after each publish. Set before discovery starts.
  void onPublish(std::function<void(const balance::TargetSet&)> f) { on_publish_ = std::move(f); }

 private:
  std::function<void(const balance::TargetSet&)> on_publish_;
  std::atomic<Snapshot> current_{std::make_shared<const balance::TargetSet>()};
};

}  // namespace edge::discovery
