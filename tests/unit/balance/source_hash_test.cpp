// Source-hash: a client (by IP address) stays on its endpoint across refreshes of an unchanged
// set, whatever its order; removing one of five targets moves only the clients that were on
// it; an ejected endpoint's clients come back when it does. The hash is fixed, so the figures
// are the same on every run and in every process.
#include "balance/source_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "balance/balancer.h"
#include "balance_fixtures.h"

namespace edge::balance {
namespace {

constexpr uint32_t kClients = 1'000;

// The same five backends as five SRV records of one address each, or as the five addresses
// of one A/AAAA record.
std::vector<Target> fiveRecords() {
  return {target("s1.example", 0, 1, {ep("10.0.1.1", 22)}),
          target("s2.example", 0, 1, {ep("10.0.1.2", 22)}),
          target("s3.example", 0, 1, {ep("10.0.1.3", 22)}),
          target("s4.example", 0, 1, {ep("10.0.1.4", 22)}),
          target("s5.example", 0, 1, {ep("10.0.1.5", 22)})};
}
std::vector<Target> fiveAddresses() {
  return {target("svc.example", 0, 1,
                 {ep("10.0.1.1", 22), ep("10.0.1.2", 22), ep("10.0.1.3", 22), ep("10.0.1.4", 22),
                  ep("10.0.1.5", 22)})};
}

struct Shape {
  const char* name;
  std::vector<Target> (*make)();
};
const Shape kShapes[] = {{"five records", fiveRecords}, {"one record of five", fiveAddresses}};

// Removes the backend 10.0.1.3 (a record, or an address of the record).
std::vector<Target> withoutThird(std::vector<Target> targets) {
  for (auto& t : targets) std::erase(t.endpoints, ep("10.0.1.3", 22));
  std::erase_if(targets, [](const Target& t) { return t.endpoints.empty(); });
  return targets;
}

// Where each client lands: client index -> endpoint text, with a fresh Balancer (as after a
// restart) and a seeded random source that source-hash must not depend on.
template <class Usable = decltype(kAll)>
std::vector<std::string> placements(const std::vector<Target>& targets,
                                    net::Endpoint (*client)(uint32_t, uint16_t) = clientV4,
                                    Usable usable = kAll, uint64_t seed = 1) {
  Balancer balancer(Policy::SourceHash, nullptr);
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < kClients; ++i) {
    auto pick = balancer.pick(targets, usable, client(i, 40000), rng);
    out.push_back(pick ? net::format(pick->endpoint) : "none");
  }
  return out;
}

std::map<std::string, int> spread(const std::vector<std::string>& placed) {
  std::map<std::string, int> counts;
  for (const auto& p : placed) ++counts[p];
  return counts;
}

TEST(SourceHashTest, ClientsStayPutAcrossTenRefreshesInAnyOrder) {
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    const auto before = placements(shape.make());
    std::mt19937 shuffle(2024);
    for (int refresh = 0; refresh < 10; ++refresh) {
      auto targets = shape.make();  // a new set: new objects, records and addresses reordered
      std::shuffle(targets.begin(), targets.end(), shuffle);
      for (auto& t : targets) std::shuffle(t.endpoints.begin(), t.endpoints.end(), shuffle);
      ASSERT_EQ(placements(targets, clientV4, kAll, /*seed=*/refresh), before)
          << "refresh " << refresh;
    }
  }
}

TEST(SourceHashTest, ClientsAreSpreadEvenlyOverEqualTargets) {
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    for (auto client : {clientV4, clientV6}) {
      const auto counts = spread(placements(shape.make(), client));
      ASSERT_EQ(counts.size(), 5u);
      // Binomial(1000, 1/5): sd ≈ 12.6 clients; ±70 is > 5 sd.
      for (const auto& [where, n] : counts) EXPECT_NEAR(n, 200, 70) << where;
    }
  }
}

TEST(SourceHashTest, RemovingOneOfFiveMovesOnlyItsClients) {
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    const auto before = placements(shape.make());
    const auto after = placements(withoutThird(shape.make()));
    int moved = 0;
    std::map<std::string, int> moved_to;
    for (uint32_t i = 0; i < kClients; ++i) {
      if (before[i] == after[i]) continue;
      ++moved;
      ++moved_to[after[i]];
      EXPECT_EQ(before[i], "10.0.1.3:22") << "client " << i << " moved from another target";
    }
    EXPECT_EQ(moved, spread(before)["10.0.1.3:22"]);  // every one of its clients, none else
    EXPECT_LE(moved, 300);                            // at most 30% (about 1/5 expected)
    EXPECT_EQ(moved_to.size(), 4u);                   // spread over the four that remain
    std::printf("[ figures  ] %s: %d of %u clients moved\n", shape.name, moved, kClients);
  }
}

TEST(SourceHashTest, AddingASixthTargetTakesClientsOnlyForItself) {
  const auto before = placements(fiveRecords());
  auto six = fiveRecords();
  six.push_back(target("s6.example", 0, 1, {ep("10.0.1.6", 22)}));
  const auto after = placements(six);
  int moved = 0;
  for (uint32_t i = 0; i < kClients; ++i) {
    if (before[i] == after[i]) continue;
    ++moved;
    EXPECT_EQ(after[i], "10.0.1.6:22") << "client " << i;
  }
  EXPECT_NEAR(moved, 1000 / 6, 70);  // Binomial(1000, 1/6): sd ≈ 11.8
}

TEST(SourceHashTest, AnEjectedTargetsClientsFallBackAndReturnWhenItIsUsable) {
  for (const auto& shape : kShapes) {
    SCOPED_TRACE(shape.name);
    const auto targets = shape.make();
    const auto before = placements(targets);
    auto third_down = [](const net::Endpoint& e) { return e != ep("10.0.1.3", 22); };
    const auto during = placements(targets, clientV4, third_down);
    for (uint32_t i = 0; i < kClients; ++i) {
      if (before[i] == "10.0.1.3:22") {
        EXPECT_NE(during[i], "10.0.1.3:22") << "client " << i;
      } else {
        EXPECT_EQ(during[i], before[i]) << "client " << i << " moved though its target is up";
      }
    }
    // The fallback is the next best of the remaining set, as if the target had been removed.
    EXPECT_EQ(during, placements(withoutThird(targets)));
    EXPECT_EQ(placements(targets), before);  // usable again: everyone is back
  }
}

TEST(SourceHashTest, AnUnusableAddressOfAHostSendsItsClientsToTheHostsOtherAddress) {
  // Record "dual" reaches one host by IPv4 and IPv6; its IPv6 address goes down.
  const std::vector<Target> targets = {
      target("dual.example", 0, 1, {ep("10.0.2.1", 22), ep("2001:db8::21", 22)}),
      target("b.example", 0, 1, {ep("10.0.2.2", 22)}),
      target("c.example", 0, 1, {ep("10.0.2.3", 22)})};
  const auto before = placements(targets);
  auto v6_down = [](const net::Endpoint& e) { return e != ep("2001:db8::21", 22); };
  const auto during = placements(targets, clientV4, v6_down);
  int moved = 0;
  for (uint32_t i = 0; i < kClients; ++i) {
    if (before[i] == during[i]) continue;
    ++moved;
    EXPECT_EQ(before[i], "[2001:db8::21]:22") << "client " << i;
    EXPECT_EQ(during[i], "10.0.2.1:22") << "client " << i;
  }
  EXPECT_GT(moved, 0);
}

TEST(SourceHashTest, OnlyTheClientAddressCountsNotItsPort) {
  Balancer balancer(Policy::SourceHash, nullptr);
  std::mt19937_64 rng(1);
  const auto targets = fiveRecords();
  for (uint32_t i = 0; i < 200; ++i) {
    const auto a = balancer.pick(targets, kAll, clientV4(i, 1024), rng);
    const auto b = balancer.pick(targets, kAll, clientV4(i, 65000), rng);
    const auto c = balancer.pick(targets, kAll, clientV6(i, 1024), rng);
    const auto d = balancer.pick(targets, kAll, clientV6(i, 50000), rng);
    ASSERT_TRUE(a && b && c && d);
    EXPECT_EQ(a->endpoint, b->endpoint);
    EXPECT_EQ(c->endpoint, d->endpoint);
  }
}

TEST(SourceHashTest, AnIPv4MappedClientIsTheIPv4Client) {
  // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d.
  const auto mapped = [](uint32_t i, uint16_t port) {
    return net::Endpoint(
        asio::ip::make_address_v6(asio::ip::v4_mapped, clientV4(i, port).address().to_v4()), port);
  };
  EXPECT_EQ(placements(fiveRecords(), mapped), placements(fiveRecords(), clientV4));
  EXPECT_NE(placements(fiveRecords(), clientV6), placements(fiveRecords(), clientV4));
}

TEST(SourceHashTest, HashesAreFixedAcrossProcessesAndBuilds) {
  // Pinned values (checked against a Python re-implementation of the algorithm): a change
  // here would move clients to other targets across an upgrade.
  EXPECT_EQ(clientHash(asio::ip::make_address("192.0.2.1")), 0x20fef3cf1dfaa4f4u);
  EXPECT_EQ(clientHash(asio::ip::make_address("2001:db8::1")), 0xd8c6759cf9d61e2du);
  EXPECT_EQ(endpointHash(ep("10.0.1.1", 22)), 0xf6917bd0ac73d871u);
  EXPECT_EQ(recordHash("s1.example", 22), 0x20aaac55f7be0b5fu);
  EXPECT_EQ(pairHash(1, 2), 0x9d2452e6d7bb4e56u);
}

TEST(SourceHashTest, RendezvousScoreGrowsWithWeightAndStaysFinite) {
  for (uint64_t h : {uint64_t{0}, uint64_t{1} << 40, ~uint64_t{0}}) {
    const double light = rendezvousScore(h, 1);
    const double heavy = rendezvousScore(h, 3);
    EXPECT_GT(light, 0);
    EXPECT_TRUE(std::isfinite(light)) << h;
    EXPECT_DOUBLE_EQ(heavy, 3 * light);
  }
}

}  // namespace
}  // namespace edge::balance
