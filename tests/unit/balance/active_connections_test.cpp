// ActiveConnections: exact counts per endpoint under concurrent use, and a table that empties
// when the connections do.
#include "balance/active_connections.h"

#include <gtest/gtest.h>

#include <array>
#include <thread>
#include <vector>

#include "balance_fixtures.h"

namespace edge::balance {
namespace {

constexpr int kThreads = 4;
constexpr int kPerThread = 20'000;

const std::array<net::Endpoint, 3> kEndpoints = {ep("10.0.0.1"), ep("10.0.0.2"),
                                                 ep("2001:db8::1", 443)};

template <class Body>
void onThreads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(body, t);
  for (auto& thread : threads) thread.join();
}

TEST(ActiveConnectionsTest, CountsWhatIsOpenPerEndpoint) {
  ActiveConnections active;
  EXPECT_EQ(active.count(kEndpoints[0]), 0u);
  active.opened(kEndpoints[0]);
  active.opened(kEndpoints[0]);
  active.opened(kEndpoints[2]);
  EXPECT_EQ(active.count(kEndpoints[0]), 2u);
  EXPECT_EQ(active.count(kEndpoints[1]), 0u);
  EXPECT_EQ(active.count(kEndpoints[2]), 1u);
  EXPECT_EQ(active.count(ep("10.0.0.1", 81)), 0u);  // another port is another endpoint
  active.closed(kEndpoints[0]);
  EXPECT_EQ(active.count(kEndpoints[0]), 1u);
  EXPECT_EQ(active.endpoints(), 2u);
}

TEST(ActiveConnectionsTest, EndpointsAtZeroLeaveTheTable) {
  ActiveConnections active;
  for (const auto& e : kEndpoints) active.opened(e);
  for (const auto& e : kEndpoints) active.closed(e);
  EXPECT_EQ(active.endpoints(), 0u);
}

TEST(ActiveConnectionsTest, AStrayCloseNeverGoesBelowZero) {
  ActiveConnections active;
  active.closed(kEndpoints[0]);
  EXPECT_EQ(active.count(kEndpoints[0]), 0u);
  EXPECT_EQ(active.endpoints(), 0u);
  active.opened(kEndpoints[0]);
  EXPECT_EQ(active.count(kEndpoints[0]), 1u);
}

TEST(ActiveConnectionsTest, ConcurrentOpensFromFourThreadsAreAllCounted) {
  ActiveConnections active;
  onThreads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) active.opened(kEndpoints[(i + t) % kEndpoints.size()]);
  });
  // What the same opens give one after another: no increment may be lost to a race.
  std::array<uint32_t, kEndpoints.size()> want{};
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) ++want[(i + t) % kEndpoints.size()];
  }
  for (size_t k = 0; k < kEndpoints.size(); ++k) EXPECT_EQ(active.count(kEndpoints[k]), want[k]);

  onThreads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) active.closed(kEndpoints[(i + t) % kEndpoints.size()]);
  });
  for (const auto& e : kEndpoints) EXPECT_EQ(active.count(e), 0u);
  EXPECT_EQ(active.endpoints(), 0u);
}

TEST(ActiveConnectionsTest, InterleavedOpenAndCloseFromFourThreadsEndAtZero) {
  ActiveConnections active;
  onThreads([&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      const auto& e = kEndpoints[(i * 7 + t) % kEndpoints.size()];
      active.opened(e);
      (void)active.count(e);  // readers run alongside writers, as least-connections does
      active.closed(e);
    }
  });
  for (const auto& e : kEndpoints) EXPECT_EQ(active.count(e), 0u);
  EXPECT_EQ(active.endpoints(), 0u);
}

}  // namespace
}  // namespace edge::balance
