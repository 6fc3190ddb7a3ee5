// How often the idle sweep looks: a quiet connection is closed at most two ticks late.
#include "proxy/idle_sweep.h"

#include <gtest/gtest.h>

namespace edge::proxy {
namespace {

using namespace std::chrono_literals;

TEST(IdleSweep, TicksAnEighthOfTheTimeoutBetweenOneMillisecondAndOneSecond) {
  EXPECT_EQ(IdleSweep::tickFor(400ms), 50ms);  // closed at most 25% late
  EXPECT_EQ(IdleSweep::tickFor(8s), 1s);
  EXPECT_EQ(IdleSweep::tickFor(1h), 1s);  // long timeouts: at most a second late
  EXPECT_EQ(IdleSweep::tickFor(4ms), 1ms);
}

}  // namespace
}  // namespace edge::proxy
