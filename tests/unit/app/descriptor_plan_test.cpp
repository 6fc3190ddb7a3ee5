#include "app/descriptor_plan.h"

#include <gtest/gtest.h>

namespace edge::app {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

TEST(DescriptorPlan, ConnectionsGetWhatTheReserveAndThePipesLeaveTwoDescriptorsEach) {
  // 20000 descriptors, 2 workers, 1 MiB pipes, a 48 MiB pipe budget (unprivileged default).
  const auto plan = planDescriptors(20000, 2, kMiB, 48 * kMiB);
  EXPECT_EQ(plan.reserve, 48u);
  EXPECT_EQ(plan.pipes, 48u);
  EXPECT_EQ(plan.connections, (20000u - 48 - 2 * 48) / 2);
  EXPECT_LE(plan.reserve + 2 * plan.pipes + 2 * plan.connections, plan.limit);
}

TEST(DescriptorPlan, PipesNeverTakeMoreThanAQuarterOfTheDescriptors) {
  // Root's budget (1/16 of RAM) would allow thousands of pipes; small pipes even more.
  const auto plan = planDescriptors(1024, 1, 4096, 1536 * kMiB);
  EXPECT_EQ(plan.pipes, (1024u - 40) / 8);
  EXPECT_LE(plan.reserve + 2 * plan.pipes + 2 * plan.connections, plan.limit);
  EXPECT_GT(plan.connections, 300u);
}

TEST(DescriptorPlan, WithoutSpliceNoDescriptorGoesToPipes) {
  const auto plan = planDescriptors(1024, 1, 0, 48 * kMiB);
  EXPECT_EQ(plan.pipes, 0u);
  EXPECT_EQ(plan.connections, (1024u - 40) / 2);
}

TEST(DescriptorPlan, ATinyLimitStillAllowsOneConnection) {
  for (uint64_t limit : {0ULL, 1ULL, 20ULL, 48ULL}) {
    const auto plan = planDescriptors(limit, 2, kMiB, 48 * kMiB);
    EXPECT_EQ(plan.connections, 1u) << limit;
    EXPECT_LE(plan.reserve, limit);
  }
}

}  // namespace
}  // namespace edge::app
