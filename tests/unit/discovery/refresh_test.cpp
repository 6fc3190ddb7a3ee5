// When to ask DNS again: TTL clamping and the failure back-off.
#include "discovery/refresh.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::discovery {
namespace {

using config::Duration;
using namespace std::chrono_literals;

TEST(RefreshTest, ClampRefresh) {
  struct Case {
    uint32_t ttl;
    Duration min, max, want;
  };
  const std::vector<Case> cases = {
      {0, 1s, 30s, 1s},            // TTL 0: never faster than min
      {1, 1s, 30s, 1s},            // exactly min
      {5, 1s, 30s, 5s},            // inside
      {30, 1s, 30s, 30s},          // exactly max
      {31, 1s, 30s, 30s},          // above max
      {86400, 1s, 30s, 30s},       // a day
      {0x7FFFFFFF, 1s, 30s, 30s},  // largest legal TTL: no overflow in the ms conversion
      {0xFFFFFFFF, 1s, 30s, 30s},  // even the largest uint32
      {0, 100ms, 30s, 100ms},      // sub-second min
      {10, 20s, 5s, 20s},          // min > max: min wins, never below min
      {1, 20s, 5s, 20s},           // min > max, TTL below both
      {10, 5s, 5s, 5s},            // min == max
  };
  for (const auto& [ttl, min, max, want] : cases) {
    EXPECT_EQ(clampRefresh(ttl, min, max), want)
        << "ttl=" << ttl << " min=" << min.count() << " max=" << max.count();
  }
}

TEST(RefreshTest, RetryDelay) {
  struct Case {
    unsigned failures;
    Duration min, max, want;
  };
  const std::vector<Case> cases = {
      {0, 1s, 30s, 1s},  // no failure yet: min
      {1, 1s, 30s, 1s},  // first failure retries quickly
      {2, 1s, 30s, 2s},  // then doubles
      {3, 1s, 30s, 4s},
      {4, 1s, 30s, 8s},
      {5, 1s, 30s, 16s},
      {6, 1s, 30s, 30s},  // 32s capped
      {7, 1s, 30s, 30s},
      {1000, 1s, 30s, 30s},  // stays capped, no overflow
      {4'000'000'000u, 1s, 30s, 30s},
      {3, 100ms, 1s, 400ms},
      {5, 100ms, 1s, 1s},
      {3, 20s, 5s, 20s},  // min > max: min
      {3, 5s, 5s, 5s},
  };
  for (const auto& [failures, min, max, want] : cases) {
    EXPECT_EQ(retryDelay(failures, min, max), want)
        << "failures=" << failures << " min=" << min.count() << " max=" << max.count();
  }
}

TEST(RefreshTest, RetryDelayNeverShrinks) {
  Duration last{0};
  for (unsigned f = 0; f < 64; ++f) {
    const auto d = retryDelay(f, 300ms, 45s);
    EXPECT_GE(d, last) << f;
    EXPECT_LE(d, 45s) << f;
    last = d;
  }
}

}  // namespace
}  // namespace edge::discovery
