// Balancer: what every policy promises alike. Priority tiers, usability and weights hold for
// random, round-robin, least-connections and source-hash; each policy spreads picks in
// proportion to weight. Random sources are seeded and source-hash clients are fixed, so every
// run is the same; the tolerances would hold for any seed of a correct policy (maths inline).
#include "balance/balancer.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "balance_fixtures.h"

namespace edge::balance {
namespace {

constexpr int kDraws = 60'000;

class BalancerTest : public testing::TestWithParam<Policy> {
 protected:
  // Draws `draws` picks, a new client address each time (source-hash spreads clients, not
  // connections); counts them per key. A pick that finds nothing fails the test.
  template <class Usable, class Key>
  std::map<std::string, int> count(const std::vector<Target>& targets, Usable usable, Key key,
                                   int draws = kDraws) {
    std::map<std::string, int> counts;
    for (int i = 0; i < draws; ++i) {
      auto pick = balancer_.pick(targets, usable, clientV4(static_cast<uint32_t>(i)), rng_);
      if (!pick) {
        ADD_FAILURE() << "no pick at draw " << i;
        break;
      }
      ++counts[key(*pick)];
    }
    return counts;
  }
  template <class Usable>
  std::map<std::string, int> countByName(const std::vector<Target>& targets, Usable usable,
                                         int draws = kDraws) {
    return count(
        targets, usable, [](const Pick& p) { return p.target->name; }, draws);
  }

  ActiveConnections active_;
  Balancer balancer_{GetParam(), &active_};
  std::mt19937_64 rng_{42};
};

TEST_P(BalancerTest, EmptySetGivesNothing) {
  EXPECT_FALSE(balancer_.pick(std::span<const Target>(), kAll, clientV4(1), rng_).has_value());
}

TEST_P(BalancerTest, NothingUsableGivesNothing) {
  const std::vector<Target> targets = {target("a", 10, 1, {ep("10.0.0.1")}),
                                       target("b", 20, 1, {ep("10.0.0.2")})};
  auto none = [](const net::Endpoint&) { return false; };
  EXPECT_FALSE(balancer_.pick(targets, none, clientV4(1), rng_).has_value());
}

TEST_P(BalancerTest, PolicyIsTheOneGiven) {
  EXPECT_EQ(balancer_.policy(), GetParam());
}

TEST_P(BalancerTest, LowestPriorityTierWinsWhateverTheWeights) {
  std::vector<Target> targets = {target("low", 10, 1, {ep("10.0.0.1")}),
                                 target("low2", 10, 1, {ep("10.0.0.3")}),
                                 target("high", 20, 1000, {ep("10.0.0.2")})};
  canonicalize(targets);
  const auto counts = countByName(targets, kAll, 3'000);
  EXPECT_EQ(counts.count("high"), 0u);
  EXPECT_EQ(counts.at("low") + counts.at("low2"), 3'000);
}

TEST_P(BalancerTest, FailsOverThroughTiersInOrder) {
  const std::vector<Target> targets = {target("p10", 10, 5, {ep("10.0.0.1")}),
                                       target("p20", 20, 5, {ep("10.0.0.2")}),
                                       target("p30", 30, 5, {ep("10.0.0.3")})};
  struct Case {
    std::set<std::string> down;
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {{}, "10.0.0.1:80"},
      {{"10.0.0.1"}, "10.0.0.2:80"},
      {{"10.0.0.2"}, "10.0.0.1:80"},
      {{"10.0.0.1", "10.0.0.2"}, "10.0.0.3:80"},
      {{"10.0.0.1", "10.0.0.3"}, "10.0.0.2:80"},
      {{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, std::nullopt},
  };
  for (const auto& [down, want] : cases) {
    auto usable = [&](const net::Endpoint& e) { return !down.contains(e.address().to_string()); };
    for (uint32_t i = 0; i < 100; ++i) {
      auto pick = balancer_.pick(targets, usable, clientV4(i), rng_);
      ASSERT_EQ(pick.has_value(), want.has_value());
      if (pick) {
        ASSERT_EQ(net::format(pick->endpoint), *want);
        ASSERT_EQ(pick->target->endpoints.front(), pick->endpoint);  // points into the set
      }
    }
  }
}

TEST_P(BalancerTest, NeverPicksAnUnusableEndpoint) {
  const std::vector<Target> targets = {
      target("a", 0, 1, {ep("10.0.0.1"), ep("10.0.0.2"), ep("10.0.0.3")}),
      target("b", 0, 3, {ep("10.0.0.4"), ep("10.0.0.5")})};
  auto usable = [](const net::Endpoint& e) { return e != ep("10.0.0.2") && e != ep("10.0.0.4"); };
  const auto counts =
      count(targets, usable, [](const Pick& p) { return p.endpoint.address().to_string(); });
  EXPECT_EQ(counts.count("10.0.0.2"), 0u);
  EXPECT_EQ(counts.count("10.0.0.4"), 0u);
  // Record b keeps its share (3/4) on its one usable address.
  EXPECT_NEAR(counts.at("10.0.0.5"), 0.75 * kDraws, 1'000);
}

TEST_P(BalancerTest, WeightZeroNeverChosenWhileAWeightedRecordIsUsable) {
  const std::vector<Target> targets = {target("zero", 0, 0, {ep("10.0.0.1")}),
                                       target("one", 0, 1, {ep("10.0.0.2")}),
                                       target("zero2", 0, 0, {ep("10.0.0.3")})};
  const auto counts = countByName(targets, kAll, 3'000);
  EXPECT_EQ(counts.count("zero"), 0u);
  EXPECT_EQ(counts.count("zero2"), 0u);
  EXPECT_EQ(counts.at("one"), 3'000);
}

TEST_P(BalancerTest, WeightZeroRecordsShareEquallyWhenOnlyTheyAreUsable) {
  const std::vector<Target> targets = {
      target("heavy", 0, 50, {ep("10.0.0.9")}), target("z1", 0, 0, {ep("10.0.0.1")}),
      target("z2", 0, 0, {ep("10.0.0.2")}), target("z3", 0, 0, {ep("10.0.0.3")})};
  auto heavy_down = [](const net::Endpoint& e) { return e != ep("10.0.0.9"); };
  const auto counts = countByName(targets, heavy_down);
  EXPECT_EQ(counts.count("heavy"), 0u);
  const std::map<std::string, double> want = {{"z1", 1 / 3.0}, {"z2", 1 / 3.0}, {"z3", 1 / 3.0}};
  // sd = sqrt(60000 * 1/3 * 2/3) ≈ 115 picks; chi-square with 2 df: 13.82 at 0.1%.
  for (const auto& [name, p] : want) EXPECT_NEAR(counts.at(name), p * kDraws, 600) << name;
  EXPECT_LT(chiSquare(counts, want, kDraws), 13.82);
}

TEST_P(BalancerTest, Weights123AreFollowed) {
  const std::vector<Target> targets = {target("w1", 0, 1, {ep("10.0.0.1")}),
                                       target("w2", 0, 2, {ep("10.0.0.2")}),
                                       target("w3", 0, 3, {ep("10.0.0.3")})};
  const auto counts = countByName(targets, kAll);
  const std::map<std::string, double> want = {{"w1", 1 / 6.0}, {"w2", 2 / 6.0}, {"w3", 3 / 6.0}};
  // Largest sd is for p=1/2: sqrt(60000 / 4) ≈ 122 picks; ±1% (600) is ~5 sd, while a policy
  // that ignored weights would be off by 10000.
  for (const auto& [name, p] : want) EXPECT_NEAR(counts.at(name), p * kDraws, 600) << name;
  // 2 degrees of freedom: 13.82 is the 0.1% critical value.
  EXPECT_LT(chiSquare(counts, want, kDraws), 13.82);
}

TEST_P(BalancerTest, EndpointsOfARecordShareItsWeight) {
  // "two" has two addresses, "one" has one: 50/50 by record, 25/25 inside "two".
  const std::vector<Target> targets = {target("one", 0, 1, {ep("10.0.0.1")}),
                                       target("two", 0, 1, {ep("10.0.0.2"), ep("10.0.0.3")})};
  const auto counts =
      count(targets, kAll, [](const Pick& p) { return p.endpoint.address().to_string(); });
  const std::map<std::string, double> want = {
      {"10.0.0.1", 0.5}, {"10.0.0.2", 0.25}, {"10.0.0.3", 0.25}};
  // sd ≤ sqrt(60000 / 4) ≈ 122 picks; chi-square with 2 df: 13.82 at 0.1%.
  for (const auto& [ip, p] : want) EXPECT_NEAR(counts.at(ip), p * kDraws, 600) << ip;
  EXPECT_LT(chiSquare(counts, want, kDraws), 13.82);
}

TEST_P(BalancerTest, AsksUsableAtMostOncePerEndpointOutsideRandom) {
  if (GetParam() == Policy::Random) GTEST_SKIP() << "random is pickTarget, which asks again";
  const std::vector<Target> targets = {target("a", 10, 1, {ep("10.0.0.1"), ep("10.0.0.2")}),
                                       target("b", 10, 2, {ep("10.0.0.3")}),
                                       target("c", 20, 1, {ep("10.0.0.4")})};
  std::map<std::string, int> asked;
  auto usable = [&](const net::Endpoint& e) {
    ++asked[e.address().to_string()];
    return e != ep("10.0.0.3");
  };
  ASSERT_TRUE(balancer_.pick(targets, usable, clientV4(1), rng_).has_value());
  EXPECT_EQ(asked, (std::map<std::string, int>{{"10.0.0.1", 1}, {"10.0.0.2", 1}, {"10.0.0.3", 1}}));
}

INSTANTIATE_TEST_SUITE_P(Policies, BalancerTest,
                         testing::Values(Policy::Random, Policy::RoundRobin,
                                         Policy::LeastConnections, Policy::SourceHash),
                         [](const testing::TestParamInfo<Policy>& param_info) {
                           std::string name;
                           for (char c : toString(param_info.param)) {
                             if (c != '-') name += c;
                           }
                           return name;  // "random", "roundrobin", ...
                         });

}  // namespace
}  // namespace edge::balance
