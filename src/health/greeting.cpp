#include "health/greeting.h"

#include <algorithm>

#include "config/error_line.h"

namespace edge::health {
namespace {

std::string quoted(std::string_view bytes) {
  return "\"" + config::shown(bytes) + "\"";
}

}  // namespace

Greeting::Verdict Greeting::feed(std::string_view bytes) {
  if (verdict_ != Verdict::Pending) return verdict_;
  const size_t take = std::min(bytes.size(), expect_.size() - got_.size());
  const size_t at = got_.size();
  got_.append(bytes.substr(0, take));
  if (std::string_view(got_).substr(at) != std::string_view(expect_).substr(at, take)) {
    verdict_ = Verdict::Failed;
  } else if (got_.size() == expect_.size()) {
    verdict_ = Verdict::Passed;
  }
  return verdict_;
}

std::string Greeting::mismatch() const {
  return "greeting " + quoted(got_) + " does not start with " + quoted(expect_);
}

std::string Greeting::closedEarly() const {
  if (got_.empty()) return "closed without a greeting (expected " + quoted(expect_) + ")";
  return "closed after " + quoted(got_) + " (expected " + quoted(expect_) + ")";
}

std::string Greeting::timedOut(std::string_view timeout) const {
  if (got_.empty()) return "no greeting within " + std::string(timeout);
  return "only " + quoted(got_) + " within " + std::string(timeout) + " (expected " +
         quoted(expect_) + ")";
}

}  // namespace edge::health
