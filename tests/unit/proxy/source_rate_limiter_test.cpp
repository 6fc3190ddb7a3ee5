// The per-source token bucket with a fixed-size table: rates, bursts, refills, separate
// addresses, eviction of the least recently seen, and a clock that goes nowhere or backwards.
#include "proxy/source_rate_limiter.h"

#include <gtest/gtest.h>

namespace edge::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = SourceRateLimiter::Clock;

asio::ip::address ip(const std::string& text) {
  return asio::ip::make_address(text);
}

const Clock::time_point t0 = Clock::time_point(100s);

int admitted(SourceRateLimiter& limiter, const char* source, int tries, Clock::time_point now) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.admit(ip(source), now) ? 1 : 0;
  return n;
}

TEST(SourceRateLimiterTest, BurstThenTheRate) {
  SourceRateLimiter limiter({5, 1000ms}, 5);
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 10, t0), 5);  // the burst, at once
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 10, t0 + 200ms), 1);
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 10, t0 + 1200ms), 5);  // a whole second's worth
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 10, t0 + 100s), 5);    // never above the burst
}

TEST(SourceRateLimiterTest, EveryAddressHasItsOwnBucket) {
  SourceRateLimiter limiter({1, 1000ms}, 1);
  EXPECT_TRUE(limiter.admit(ip("192.0.2.1"), t0));
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0));
  EXPECT_TRUE(limiter.admit(ip("192.0.2.2"), t0));
  EXPECT_TRUE(limiter.admit(ip("2001:db8::1"), t0));
  // A dual-stack listener's IPv4 client is the same source as on an IPv4 listener.
  EXPECT_FALSE(limiter.admit(ip("::ffff:192.0.2.1"), t0));
  EXPECT_EQ(limiter.sources(), 3u);
}

TEST(SourceRateLimiterTest, SlowRatesAndFractions) {
  SourceRateLimiter limiter({1, 3600s}, 2);  // 1/h, burst 2
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 5, t0), 2);
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 5, t0 + 1799s), 0);
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 5, t0 + 3601s), 1);
  // 3 per second: over 10 s of steady tries, 30 (+ the burst of 3).
  SourceRateLimiter fast({3, 1000ms}, 3);
  int n = 0;
  for (int ms = 0; ms <= 10'000; ms += 10) n += fast.admit(ip("192.0.2.9"), t0 + ms * 1ms);
  EXPECT_NEAR(n, 33, 1);
}

TEST(SourceRateLimiterTest, TheTableNeverGrowsPastItsCapacity) {
  SourceRateLimiter limiter({1, 1000ms}, 1, /*capacity=*/4);
  for (int i = 1; i <= 4; ++i) EXPECT_TRUE(limiter.admit(ip("192.0.2." + std::to_string(i)), t0));
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0));  // .1 is now the most recent
  for (int i = 10; i < 1000; ++i) {
    limiter.admit(ip("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)), t0);
    ASSERT_LE(limiter.sources(), 4u);
  }
  // .1 was pushed out by the flood: it starts again with a full bucket (errs towards serving).
  EXPECT_TRUE(limiter.admit(ip("192.0.2.1"), t0));
}

TEST(SourceRateLimiterTest, EvictsTheLeastRecentlySeen) {
  SourceRateLimiter limiter({1, 1000ms}, 1, /*capacity=*/2);
  EXPECT_TRUE(limiter.admit(ip("192.0.2.1"), t0));
  EXPECT_TRUE(limiter.admit(ip("192.0.2.2"), t0));
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0));  // seen again: .2 is now the oldest
  EXPECT_TRUE(limiter.admit(ip("192.0.2.3"), t0));   // takes .2's slot
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0));  // still limited: it kept its bucket
  EXPECT_TRUE(limiter.admit(ip("192.0.2.2"), t0));   // forgotten: a full bucket
}

TEST(SourceRateLimiterTest, AClockThatStandsStillOrGoesBackGivesNoTokens) {
  SourceRateLimiter limiter({1000, 1000ms}, 1);
  EXPECT_TRUE(limiter.admit(ip("192.0.2.1"), t0));
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0));
  EXPECT_FALSE(limiter.admit(ip("192.0.2.1"), t0 - 10s));
  EXPECT_TRUE(limiter.admit(ip("192.0.2.1"), t0 + 1ms));
}

TEST(SourceRateLimiterTest, TheLargestRateAndBurst) {
  SourceRateLimiter limiter({1'000'000, 1000ms}, 1'000'000);
  EXPECT_EQ(admitted(limiter, "192.0.2.1", 1000, t0), 1000);
  EXPECT_EQ(limiter.capacity(), SourceRateLimiter::kMaxSources);
}

}  // namespace
}  // namespace edge::proxy
