// pickTarget: RFC 2782 selection with a seeded random source. Distribution checks draw 100k
// picks with a fixed seed, so they are deterministic; the tolerances below would still hold for
// any seed of a correct picker (see the maths next to them).
#include "balance/picker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace edge::balance {
namespace {

constexpr int kDraws = 100'000;

net::Endpoint ep(const char* ip, uint16_t port = 80) {
  return net::Endpoint(asio::ip::make_address(ip), port);
}

Target target(std::string name, uint16_t priority, uint16_t weight,
              std::vector<net::Endpoint> endpoints) {
  return Target{std::move(name), priority, weight, std::move(endpoints)};
}

const auto kAll = [](const net::Endpoint&) { return true; };

// Counts picks per target name over kDraws draws; fails the test if a draw finds nothing.
template <class Usable>
std::map<std::string, int> countByName(const std::vector<Target>& targets, Usable usable,
                                       uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::map<std::string, int> counts;
  for (int i = 0; i < kDraws; ++i) {
    auto pick = pickTarget(std::span<const Target>(targets), usable, rng);
    if (!pick) {
      ADD_FAILURE() << "no pick at draw " << i;
      break;
    }
    ++counts[pick->target->name];
  }
  return counts;
}

// Pearson's chi-square statistic of observed counts against expected probabilities.
double chiSquare(const std::map<std::string, int>& counts,
                 const std::map<std::string, double>& probabilities) {
  double chi2 = 0;
  for (const auto& [name, p] : probabilities) {
    const double expected = p * kDraws;
    const auto it = counts.find(name);
    const double observed = it == counts.end() ? 0 : it->second;
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  return chi2;
}

TEST(PickerTest, EmptySetGivesNothing) {
  std::mt19937_64 rng(1);
  EXPECT_FALSE(pickTarget(std::span<const Target>(), kAll, rng).has_value());
}

TEST(PickerTest, NothingUsableGivesNothing) {
  const std::vector<Target> targets = {target("a", 10, 1, {ep("10.0.0.1")}),
                                       target("b", 20, 1, {ep("10.0.0.2")})};
  std::mt19937_64 rng(1);
  auto none = [](const net::Endpoint&) { return false; };
  EXPECT_FALSE(pickTarget(std::span<const Target>(targets), none, rng).has_value());
}

TEST(PickerTest, LowestPriorityTierWins) {
  std::vector<Target> targets = {target("low", 10, 1, {ep("10.0.0.1")}),
                                 target("low2", 10, 1, {ep("10.0.0.3")}),
                                 target("high", 20, 1000, {ep("10.0.0.2")})};
  canonicalize(targets);
  const auto counts = countByName(targets, kAll);
  EXPECT_EQ(counts.count("high"), 0u);
  EXPECT_EQ(counts.at("low") + counts.at("low2"), kDraws);
}

TEST(PickerTest, PickPointsIntoTheSetAndAtAnEndpointOfTheRecord) {
  const std::vector<Target> targets = {target("a", 0, 1, {ep("10.0.0.1"), ep("10.0.0.2")})};
  std::mt19937_64 rng(3);
  const auto pick = pickTarget(std::span<const Target>(targets), kAll, rng);
  ASSERT_TRUE(pick.has_value());
  EXPECT_EQ(pick->target, &targets[0]);
  EXPECT_TRUE(pick->endpoint == ep("10.0.0.1") || pick->endpoint == ep("10.0.0.2"));
}

TEST(PickerTest, FailsOverThroughTiersInOrder) {
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
    std::mt19937_64 rng(7);
    for (int i = 0; i < 100; ++i) {
      auto pick = pickTarget(std::span<const Target>(targets), usable, rng);
      ASSERT_EQ(pick.has_value(), want.has_value());
      if (pick) {
        ASSERT_EQ(net::format(pick->endpoint), *want);
      }
    }
  }
}

TEST(PickerTest, Weights90To10) {
  const std::vector<Target> targets = {target("a", 0, 90, {ep("10.0.0.1")}),
                                       target("b", 0, 10, {ep("10.0.0.2")})};
  const auto counts = countByName(targets, kAll);
  // Binomial(n=100000, p=0.9): sd = sqrt(n p (1-p)) ≈ 95 draws, so ±1% (1000 draws) is ~10 sd:
  // a correct picker never misses it, a picker off by one weight unit (91/9) always does.
  EXPECT_NEAR(counts.at("a"), 90'000, 1'000);
  EXPECT_NEAR(counts.at("b"), 10'000, 1'000);
  // Chi-square with 1 degree of freedom: 10.83 is the 0.1% critical value.
  EXPECT_LT(chiSquare(counts, {{"a", 0.9}, {"b", 0.1}}), 10.83);
}

TEST(PickerTest, Weights1234) {
  const std::vector<Target> targets = {
      target("w1", 0, 1, {ep("10.0.0.1")}), target("w2", 0, 2, {ep("10.0.0.2")}),
      target("w3", 0, 3, {ep("10.0.0.3")}), target("w4", 0, 4, {ep("10.0.0.4")})};
  const auto counts = countByName(targets, kAll);
  const std::map<std::string, double> want = {{"w1", 0.1}, {"w2", 0.2}, {"w3", 0.3}, {"w4", 0.4}};
  // Largest sd is for p=0.4: sqrt(100000 * 0.4 * 0.6) ≈ 155 draws; ±1% is > 6 sd.
  for (const auto& [name, p] : want) EXPECT_NEAR(counts.at(name), p * kDraws, 1'000) << name;
  // 3 degrees of freedom: 16.27 is the 0.1% critical value.
  EXPECT_LT(chiSquare(counts, want), 16.27);
}

TEST(PickerTest, WeightZeroNeverChosenWhileAWeightedRecordIsUsable) {
  const std::vector<Target> targets = {target("zero", 0, 0, {ep("10.0.0.1")}),
                                       target("one", 0, 1, {ep("10.0.0.2")}),
                                       target("zero2", 0, 0, {ep("10.0.0.3")})};
  const auto counts = countByName(targets, kAll);
  EXPECT_EQ(counts.count("zero"), 0u);
  EXPECT_EQ(counts.count("zero2"), 0u);
  EXPECT_EQ(counts.at("one"), kDraws);
}

TEST(PickerTest, WeightZeroChosenUniformlyWhenOnlyWeightZeroIsUsable) {
  const std::vector<Target> targets = {
      target("heavy", 0, 50, {ep("10.0.0.9")}), target("z1", 0, 0, {ep("10.0.0.1")}),
      target("z2", 0, 0, {ep("10.0.0.2")}), target("z3", 0, 0, {ep("10.0.0.3")})};
  auto heavy_down = [](const net::Endpoint& e) { return e != ep("10.0.0.9"); };
  const auto counts = countByName(targets, heavy_down);
  EXPECT_EQ(counts.count("heavy"), 0u);
  const std::map<std::string, double> want = {{"z1", 1 / 3.0}, {"z2", 1 / 3.0}, {"z3", 1 / 3.0}};
  // sd = sqrt(100000 * 1/3 * 2/3) ≈ 149 draws; chi-square with 2 df: 13.82 at 0.1%.
  for (const auto& [name, p] : want) EXPECT_NEAR(counts.at(name), p * kDraws, 1'000) << name;
  EXPECT_LT(chiSquare(counts, want), 13.82);
}

TEST(PickerTest, WeightZeroOnlyTierStillBeatsAHigherTier) {
  const std::vector<Target> targets = {target("zero", 10, 0, {ep("10.0.0.1")}),
                                       target("backup", 20, 100, {ep("10.0.0.2")})};
  const auto counts = countByName(targets, kAll);
  EXPECT_EQ(counts.at("zero"), kDraws);
}

TEST(PickerTest, EndpointsOfARecordShareItsWeight) {
  // "two" has two addresses, "one" has one: the split is 50/50 by record, 25/25 inside "two".
  const std::vector<Target> targets = {target("one", 0, 1, {ep("10.0.0.1")}),
                                       target("two", 0, 1, {ep("10.0.0.2"), ep("10.0.0.3")})};
  std::mt19937_64 rng(11);
  std::map<std::string, int> by_endpoint;
  for (int i = 0; i < kDraws; ++i) {
    auto pick = pickTarget(std::span<const Target>(targets), kAll, rng);
    ASSERT_TRUE(pick.has_value());
    ++by_endpoint[pick->endpoint.address().to_string()];
  }
  const std::map<std::string, double> want = {
      {"10.0.0.1", 0.5}, {"10.0.0.2", 0.25}, {"10.0.0.3", 0.25}};
  // sd ≤ sqrt(100000 * 0.25) ≈ 158 draws; chi-square with 2 df: 13.82 at 0.1%.
  for (const auto& [ip, p] : want) EXPECT_NEAR(by_endpoint[ip], p * kDraws, 1'000) << ip;
  EXPECT_LT(chiSquare(by_endpoint, want), 13.82);
}

TEST(PickerTest, PredicateExcludesEndpointsInsideARecord) {
  const std::vector<Target> targets = {target("one", 0, 1, {ep("10.0.0.1")}),
                                       target("two", 0, 1, {ep("10.0.0.2"), ep("10.0.0.3")})};
  auto not_2 = [](const net::Endpoint& e) { return e != ep("10.0.0.2"); };
  std::mt19937_64 rng(5);
  std::map<std::string, int> by_endpoint;
  for (int i = 0; i < kDraws; ++i) {
    auto pick = pickTarget(std::span<const Target>(targets), not_2, rng);
    ASSERT_TRUE(pick.has_value());
    ++by_endpoint[pick->endpoint.address().to_string()];
  }
  EXPECT_EQ(by_endpoint.count("10.0.0.2"), 0u);
  // The record keeps its half; its one usable address takes all of it.
  EXPECT_NEAR(by_endpoint["10.0.0.1"], kDraws / 2, 1'000);
  EXPECT_NEAR(by_endpoint["10.0.0.3"], kDraws / 2, 1'000);
}

TEST(PickerTest, UnusableRecordGivesUpItsWeight) {
  const std::vector<Target> targets = {target("a", 0, 90, {ep("10.0.0.1")}),
                                       target("b", 0, 5, {ep("10.0.0.2")}),
                                       target("c", 0, 5, {ep("10.0.0.3")})};
  auto a_down = [](const net::Endpoint& e) { return e != ep("10.0.0.1"); };
  const auto counts = countByName(targets, a_down);
  EXPECT_EQ(counts.count("a"), 0u);
  EXPECT_NEAR(counts.at("b"), kDraws / 2, 1'000);
  EXPECT_NEAR(counts.at("c"), kDraws / 2, 1'000);
}

}  // namespace
}  // namespace edge::balance
