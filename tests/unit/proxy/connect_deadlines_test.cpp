#include "proxy/connect_deadlines.h"

#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <functional>
#include <vector>

namespace edge::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = ConnectDeadlines::Clock;

struct Attempt : ConnectDeadlines::Waiter {
  Attempt(std::vector<int>& expired, int number) : log(expired), id(number) {}
  void deadlinePassed() override {
    log.push_back(id);
    if (on_expiry) on_expiry();
  }
  std::vector<int>& log;
  int id;
  std::function<void()> on_expiry;
};

TEST(ConnectDeadlines, ExpiresWaitersInTheOrderTheyCameAfterTheTimeout) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 30ms);
  std::vector<int> expired;
  Attempt a(expired, 1), b(expired, 2);
  const auto start = Clock::now();
  deadlines.add(a);
  deadlines.add(b);
  EXPECT_EQ(deadlines.size(), 2u);
  io.run_for(1s);  // returns once nothing is left to wait for
  EXPECT_EQ(expired, (std::vector<int>{1, 2}));
  EXPECT_GE(Clock::now() - start, 30ms);
  EXPECT_EQ(deadlines.size(), 0u);
}

TEST(ConnectDeadlines, ARemovedWaiterIsNeverTold) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 20ms);
  std::vector<int> expired;
  Attempt a(expired, 1), b(expired, 2), c(expired, 3);
  deadlines.add(a);
  deadlines.add(b);
  deadlines.add(c);
  deadlines.remove(a);  // the front: the armed timer now fires for nobody and re-arms
  deadlines.remove(b);  // the middle
  deadlines.remove(b);  // twice: nothing
  EXPECT_EQ(deadlines.size(), 1u);
  io.run_for(1s);
  EXPECT_EQ(expired, (std::vector<int>{3}));
}

TEST(ConnectDeadlines, AWaiterAddedLaterWaitsItsOwnFullTimeout) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 50ms);
  std::vector<int> expired;
  Attempt a(expired, 1), b(expired, 2);
  Clock::time_point b_added, b_expired;
  b.on_expiry = [&] { b_expired = Clock::now(); };
  deadlines.add(a);
  asio::steady_timer later(io, 30ms);
  later.async_wait([&](std::error_code) {
    b_added = Clock::now();
    deadlines.add(b);
  });
  io.run_for(1s);
  ASSERT_EQ(expired, (std::vector<int>{1, 2}));
  EXPECT_GE(b_expired - b_added, 50ms);
}

TEST(ConnectDeadlines, AnExpiryMayQueueTheNextAttempt) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 10ms);
  std::vector<int> expired;
  Attempt first(expired, 1), retry(expired, 2);
  first.on_expiry = [&] { deadlines.add(retry); };  // what a session does: try the next target
  deadlines.add(first);
  io.run_for(1s);
  EXPECT_EQ(expired, (std::vector<int>{1, 2}));
}

// A drained worker's loop must end at once, not when a finished attempt's deadline passes.
TEST(ConnectDeadlines, StopLeavesTheLoopNothingToWaitFor) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 10s);
  std::vector<int> expired;
  Attempt a(expired, 1);
  deadlines.add(a);
  deadlines.remove(a);  // connected: the timer stays armed for its deadline
  deadlines.stop();
  const auto start = Clock::now();
  io.run_for(5s);
  EXPECT_LT(Clock::now() - start, 1s) << "the loop waited for a deadline nobody needs";
  EXPECT_TRUE(expired.empty());
}

TEST(ConnectDeadlines, AWaiterAddedAfterStopStillExpires) {
  asio::io_context io;
  ConnectDeadlines deadlines(io, 10ms);
  std::vector<int> expired;
  Attempt a(expired, 1), b(expired, 2);
  deadlines.add(a);
  deadlines.remove(a);
  deadlines.stop();
  deadlines.add(b);
  io.run_for(1s);
  EXPECT_EQ(expired, (std::vector<int>{2}));
}

}  // namespace
}  // namespace edge::proxy
