// diffTargets: what the "targets changed" log line lists.
#include "balance/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edge::balance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

net::Endpoint ep(const char* ip, uint16_t port) {
  return net::Endpoint(asio::ip::make_address(ip), port);
}

const Target kNode1{"node1.example", 10, 60, {ep("10.0.0.1", 22), ep("10.0.0.2", 22)}};
const Target kNode2{"node2.example", 20, 0, {ep("::1", 2222)}};

TEST(DiffTest, IdenticalSetsGiveNoDiff) {
  const auto d = diffTargets({kNode1, kNode2}, {kNode1, kNode2});
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(diffTargets({}, {}).empty());
}

TEST(DiffTest, AddedAndRemoved) {
  const auto d = diffTargets({kNode1}, {kNode2});
  EXPECT_FALSE(d.empty());
  EXPECT_THAT(d.added, ElementsAre(Entry{"node2.example", ep("::1", 2222), 20, 0}));
  EXPECT_THAT(d.removed, ElementsAre(Entry{"node1.example", ep("10.0.0.1", 22), 10, 60},
                                     Entry{"node1.example", ep("10.0.0.2", 22), 10, 60}));
}

TEST(DiffTest, FromEmptyAllAdded) {
  const auto d = diffTargets({}, {kNode2});
  EXPECT_THAT(d.added, ElementsAre(Entry{"node2.example", ep("::1", 2222), 20, 0}));
  EXPECT_THAT(d.removed, IsEmpty());
}

TEST(DiffTest, OneAddressMoreIsOneAddition) {
  auto grown = kNode1;
  grown.endpoints.push_back(ep("10.0.0.3", 22));
  const auto d = diffTargets({kNode1}, {grown});
  EXPECT_THAT(d.added, ElementsAre(Entry{"node1.example", ep("10.0.0.3", 22), 10, 60}));
  EXPECT_THAT(d.removed, IsEmpty());
}

TEST(DiffTest, WeightOrPriorityChangeIsOneRemovedPlusOneAdded) {
  const Target before{"n.example", 10, 5, {ep("10.0.0.1", 80)}};
  for (const Target& after : {Target{"n.example", 10, 6, {ep("10.0.0.1", 80)}},
                              Target{"n.example", 11, 5, {ep("10.0.0.1", 80)}}}) {
    const auto d = diffTargets({before}, {after});
    EXPECT_THAT(d.removed, ElementsAre(Entry{"n.example", ep("10.0.0.1", 80), before.priority,
                                             before.weight}));
    EXPECT_THAT(d.added,
                ElementsAre(Entry{"n.example", ep("10.0.0.1", 80), after.priority, after.weight}));
  }
}

TEST(DiffTest, PortChangeIsOneRemovedPlusOneAdded) {
  const auto d = diffTargets({Target{"n", 0, 1, {ep("10.0.0.1", 80)}}},
                             {Target{"n", 0, 1, {ep("10.0.0.1", 81)}}});
  EXPECT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.added.size(), 1u);
}

TEST(DiffTest, OrderOfTargetsAndEndpointsDoesNotMatter) {
  Target reversed = kNode1;
  std::swap(reversed.endpoints[0], reversed.endpoints[1]);
  EXPECT_TRUE(diffTargets({kNode1, kNode2}, {kNode2, reversed}).empty());
}

TEST(DiffTest, DescribeEntry) {
  EXPECT_EQ(describe(Entry{"node1.example", ep("10.0.0.1", 22), 10, 60}),
            "node1.example 10.0.0.1:22 (priority 10, weight 60)");
  EXPECT_EQ(describe(Entry{"node2.example", ep("fd00::2", 2222), 0, 0}),
            "node2.example [fd00::2]:2222 (priority 0, weight 0)");
}

}  // namespace
}  // namespace edge::balance
