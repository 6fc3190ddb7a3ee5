#include "health/backoff.h"

#include <gtest/gtest.h>

namespace edge::health {
namespace {

using namespace std::chrono_literals;
using Clock = Backoff::Clock;

net::Endpoint endpoint(uint16_t port) {
  return {asio::ip::address_v4::loopback(), port};
}

TEST(Backoff, EjectsAFailedEndpointForThePeriodOnly) {
  Backoff backoff(5s);
  const auto t0 = Clock::now();
  backoff.markFailed(endpoint(1), t0);
  EXPECT_TRUE(backoff.ejected(endpoint(1), t0 + 4s));
  EXPECT_FALSE(backoff.ejected(endpoint(1), t0 + 5s));
  EXPECT_FALSE(backoff.ejected(endpoint(2), t0));
  backoff.markFailed(endpoint(1), t0);
  backoff.markHealthy(endpoint(1));
  EXPECT_FALSE(backoff.ejected(endpoint(1), t0));
  EXPECT_EQ(backoff.size(), 0u);
}

TEST(Backoff, ForgetsExpiredEndpointsThatNeverComeBack) {
  // Endpoints that failed once and then left DNS: none is marked healthy again.
  Backoff backoff(1s);
  auto now = Clock::now();
  for (uint16_t port = 1; port <= 10'000; ++port) {
    backoff.markFailed(endpoint(port), now);
    now += 10ms;  // about 100 endpoints fail per period
  }
  EXPECT_LE(backoff.size(), 400u);
  EXPECT_TRUE(backoff.ejected(endpoint(10'000), now));  // a recent one is still ejected
}

TEST(Backoff, KeepsEveryEndpointStillInItsPeriod) {
  Backoff backoff(1h);
  const auto now = Clock::now();
  for (uint16_t port = 1; port <= 1000; ++port) backoff.markFailed(endpoint(port), now);
  EXPECT_EQ(backoff.size(), 1000u);
  for (uint16_t port = 1; port <= 1000; ++port) EXPECT_TRUE(backoff.ejected(endpoint(port), now));
}

}  // namespace
}  // namespace edge::health
