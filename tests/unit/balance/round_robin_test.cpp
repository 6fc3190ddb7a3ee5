// Round-robin: nginx's smooth weighted round robin, exact picks per cycle. Its state survives a
// refresh that brings the same set and follows a set that changes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "balance/balancer.h"
#include "balance_fixtures.h"

namespace edge::balance {
namespace {

class RoundRobinTest : public testing::Test {
 protected:
  // The names of the next `n` picks' records, concatenated ("aab...").
  template <class Usable = decltype(kAll)>
  std::string next(const std::vector<Target>& targets, int n, Usable usable = kAll) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      auto pick = balancer_.pick(targets, usable, clientV4(7), rng_);
      if (!pick) {
        ADD_FAILURE() << "no pick";
        break;
      }
      out += pick->target->name;
    }
    return out;
  }
  std::map<std::string, int> countEndpoints(const std::vector<Target>& targets, int n) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
      auto pick = balancer_.pick(targets, kAll, clientV4(7), rng_);
      if (!pick) {
        ADD_FAILURE() << "no pick";
        break;
      }
      ++counts[pick->endpoint.address().to_string()];
    }
    return counts;
  }

  Balancer balancer_{Policy::RoundRobin, nullptr};
  std::mt19937_64 rng_{1};
};

const std::vector<Target> k511 = {target("a", 0, 5, {ep("10.0.0.1")}),
                                  target("b", 0, 1, {ep("10.0.0.2")}),
                                  target("c", 0, 1, {ep("10.0.0.3")})};

TEST_F(RoundRobinTest, WeightsFiveOneOneGiveNginxsSmoothCycle) {
  EXPECT_EQ(next(k511, 7), "aabacaa");
  EXPECT_EQ(next(k511, 7), "aabacaa");  // and again: the cycle ends where it began
}

TEST_F(RoundRobinTest, EqualWeightsTakeTurns) {
  const std::vector<Target> targets = {target("a", 0, 1, {ep("10.0.0.1")}),
                                       target("b", 0, 1, {ep("10.0.0.2")}),
                                       target("c", 0, 1, {ep("10.0.0.3")})};
  EXPECT_EQ(next(targets, 9), "abcabcabc");
}

TEST_F(RoundRobinTest, EveryCycleHoldsEachWeightExactly) {
  const std::vector<Target> targets = {target("a", 0, 1, {ep("10.0.0.1")}),
                                       target("b", 0, 2, {ep("10.0.0.2")}),
                                       target("c", 0, 3, {ep("10.0.0.3")})};
  for (int cycle = 0; cycle < 1'000; ++cycle) {
    std::map<char, int> counts;
    for (char name : next(targets, 6)) ++counts[name];
    ASSERT_EQ(counts, (std::map<char, int>{{'a', 1}, {'b', 2}, {'c', 3}})) << "cycle " << cycle;
  }
}

TEST_F(RoundRobinTest, ARefreshedEqualSetContinuesTheCycle) {
  EXPECT_EQ(next(k511, 3), "aab");
  const std::vector<Target> refreshed = k511;  // a new snapshot with the same content
  EXPECT_EQ(next(refreshed, 4), "acaa");
}

TEST_F(RoundRobinTest, AnUnusableEndpointIsSkippedAndTheOthersKeepTheirWeights) {
  const std::vector<Target> targets = {target("a", 0, 1, {ep("10.0.0.1")}),
                                       target("b", 0, 3, {ep("10.0.0.2")}),
                                       target("c", 0, 1, {ep("10.0.0.3")})};
  auto c_down = [](const net::Endpoint& e) { return e != ep("10.0.0.3"); };
  std::map<char, int> counts;
  for (char name : next(targets, 400, c_down)) ++counts[name];
  EXPECT_EQ(counts, (std::map<char, int>{{'a', 100}, {'b', 300}}));
}

TEST_F(RoundRobinTest, FollowsASetThatLosesAndRegainsAnEndpoint) {
  const std::vector<Target> three = {target("a", 0, 1, {ep("10.0.0.1")}),
                                     target("b", 0, 1, {ep("10.0.0.2")}),
                                     target("c", 0, 1, {ep("10.0.0.3")})};
  const std::vector<Target> two = {three[0], three[1]};
  EXPECT_EQ(next(three, 2), "ab");
  std::map<char, int> counts;
  for (char name : next(two, 100)) ++counts[name];
  EXPECT_EQ(counts, (std::map<char, int>{{'a', 50}, {'b', 50}}));
  // c comes back with a fresh turn; from there every three picks serve each once (±1 at the
  // edges of the window).
  counts.clear();
  for (char name : next(three, 300)) ++counts[name];
  for (char name : {'a', 'b', 'c'}) EXPECT_NEAR(counts[name], 100, 1) << name;
}

TEST_F(RoundRobinTest, AddressesOfARecordShareItsWeightInTheCycle) {
  // "a" (weight 2) has two addresses, "b" (weight 2) one: per 4 picks b twice, a1 and a2 once.
  const std::vector<Target> targets = {target("a", 0, 2, {ep("10.0.0.1"), ep("10.0.0.2")}),
                                       target("b", 0, 2, {ep("10.0.0.3")})};
  for (int cycle = 0; cycle < 100; ++cycle) {
    const auto counts = countEndpoints(targets, 4);
    ASSERT_EQ(counts,
              (std::map<std::string, int>{{"10.0.0.1", 1}, {"10.0.0.2", 1}, {"10.0.0.3", 2}}))
        << "cycle " << cycle;
  }
}

TEST_F(RoundRobinTest, TiersKeepTheirOwnCycles) {
  const std::vector<Target> targets = {
      target("a", 10, 1, {ep("10.0.0.1")}), target("b", 10, 1, {ep("10.0.0.2")}),
      target("x", 20, 1, {ep("10.0.0.3")}), target("y", 20, 1, {ep("10.0.0.4")})};
  auto first_tier_down = [](const net::Endpoint& e) {
    return e != ep("10.0.0.1") && e != ep("10.0.0.2");
  };
  EXPECT_EQ(next(targets, 3), "aba");
  EXPECT_EQ(next(targets, 4, first_tier_down), "xyxy");
  EXPECT_EQ(next(targets, 3), "bab");  // the first tier resumes where it stopped
}

}  // namespace
}  // namespace edge::balance
