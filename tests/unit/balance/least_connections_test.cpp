// Least-connections: long-lived connections end up spread by weight, a loaded target waits
// until the others catch up, and closing connections makes room again. Connections are
// simulated: every pick is opened() on the route's ActiveConnections and kept.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "balance/balancer.h"
#include "balance_fixtures.h"

namespace edge::balance {
namespace {

class LeastConnectionsTest : public testing::Test {
 protected:
  // Picks `n` times, opening (and keeping) a connection to each pick; counts per record name.
  template <class Usable = decltype(kAll)>
  std::map<std::string, int> openMany(const std::vector<Target>& targets, int n,
                                      Usable usable = kAll) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
      auto pick = balancer_.pick(targets, usable, clientV4(static_cast<uint32_t>(i)), rng_);
      if (!pick) {
        ADD_FAILURE() << "no pick";
        break;
      }
      active_.opened(pick->endpoint);
      ++counts[pick->target->name];
    }
    return counts;
  }

  ActiveConnections active_;
  Balancer balancer_{Policy::LeastConnections, &active_};
  std::mt19937_64 rng_{3};
};

const std::vector<Target> kEqual = {target("a", 0, 1, {ep("10.0.0.1")}),
                                    target("b", 0, 1, {ep("10.0.0.2")}),
                                    target("c", 0, 1, {ep("10.0.0.3")})};

TEST_F(LeastConnectionsTest, LongLivedConnectionsSpreadEvenlyOverEqualTargets) {
  openMany(kEqual, 300);
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    EXPECT_NEAR(active_.count(ep(ip)), 100, 1) << ip;
  }
}

TEST_F(LeastConnectionsTest, ALoadedTargetGetsNothingUntilTheOthersCatchUp) {
  for (int i = 0; i < 50; ++i) active_.opened(ep("10.0.0.1"));
  const auto first = openMany(kEqual, 100);
  EXPECT_EQ(first.count("a"), 0u);
  EXPECT_EQ(first.at("b"), 50);
  EXPECT_EQ(first.at("c"), 50);
  const auto then = openMany(kEqual, 150);  // all at 50: from here on they share evenly
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    EXPECT_NEAR(active_.count(ep(ip)), 100, 1) << ip;
  }
  EXPECT_NEAR(then.at("a"), 50, 1);
}

TEST_F(LeastConnectionsTest, LongLivedConnectionsFollowTheWeights) {
  const std::vector<Target> targets = {target("w1", 0, 1, {ep("10.0.0.1")}),
                                       target("w2", 0, 2, {ep("10.0.0.2")}),
                                       target("w3", 0, 3, {ep("10.0.0.3")})};
  openMany(targets, 600);
  EXPECT_NEAR(active_.count(ep("10.0.0.1")), 100, 1);
  EXPECT_NEAR(active_.count(ep("10.0.0.2")), 200, 1);
  EXPECT_NEAR(active_.count(ep("10.0.0.3")), 300, 1);
}

TEST_F(LeastConnectionsTest, ClosedConnectionsMakeRoomOnTheirTarget) {
  openMany(kEqual, 300);
  for (int i = 0; i < 30; ++i) active_.closed(ep("10.0.0.2"));
  const auto next = openMany(kEqual, 29);
  EXPECT_EQ(next.at("b"), 29);  // b is the least loaded until it is back at 100
}

TEST_F(LeastConnectionsTest, ConnectionsOfAllWorkersCount) {
  // Another worker's balancer on the same route opened these: this one sees them.
  Balancer other(Policy::LeastConnections, &active_);
  for (int i = 0; i < 10; ++i) {
    auto pick = other.pick(kEqual, kAll, clientV4(1), rng_);
    ASSERT_TRUE(pick.has_value());
    active_.opened(pick->endpoint);
  }
  openMany(kEqual, 290);
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    EXPECT_NEAR(active_.count(ep(ip)), 100, 1) << ip;
  }
}

TEST_F(LeastConnectionsTest, AnEjectedTargetIsSkippedHoweverIdle) {
  openMany(kEqual, 30);
  auto a_down = [](const net::Endpoint& e) { return e != ep("10.0.0.1"); };
  for (int i = 0; i < 10; ++i) active_.closed(ep("10.0.0.1"));  // a is idle but ejected
  const auto next = openMany(kEqual, 20, a_down);
  EXPECT_EQ(next.count("a"), 0u);
  EXPECT_EQ(next.at("b"), 10);
  EXPECT_EQ(next.at("c"), 10);
}

TEST_F(LeastConnectionsTest, WithoutAConnectionTableItIsWeightedRandom) {
  Balancer blind(Policy::LeastConnections, nullptr);
  const std::vector<Target> targets = {target("w1", 0, 1, {ep("10.0.0.1")}),
                                       target("w3", 0, 3, {ep("10.0.0.3")})};
  std::map<std::string, int> counts;
  for (int i = 0; i < 40'000; ++i) {
    auto pick = blind.pick(targets, kAll, clientV4(1), rng_);
    ASSERT_TRUE(pick.has_value());
    ++counts[pick->target->name];
  }
  // Binomial(40000, 1/4): sd ≈ 87 picks; ±500 is > 5 sd.
  EXPECT_NEAR(counts["w1"], 10'000, 500);
  EXPECT_NEAR(counts["w3"], 30'000, 500);
}

}  // namespace
}  // namespace edge::balance
