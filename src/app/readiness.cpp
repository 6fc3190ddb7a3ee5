#include "app/readiness.h"

#include <spdlog/spdlog.h>

namespace edge::app {

std::string_view Readiness::reason() const {
  std::lock_guard lock(mutex_);
  return reasonLocked();
}

std::string_view Readiness::reasonLocked() const {
  if (draining_) return "draining";
  if (!serving_) return "starting";
  if (!has_targets_) return "no targets";
  return "";
}

void Readiness::publish() {
  const auto why = reasonLocked();
  ready_.store(why.empty(), std::memory_order_release);
  if (logged_ && why == last_) return;
  if (!logged_ && why == "starting") return;  // the state every process starts in
  logged_ = true;
  last_ = why;
  if (why.empty()) {
    spdlog::info("ready");
  } else {
    spdlog::info("not ready: {}", why);
  }
}

}  // namespace edge::app
