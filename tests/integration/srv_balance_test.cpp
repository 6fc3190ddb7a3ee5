// SRV selection through the real daemon: spread, weights, priorities and failover.
#include <gtest/gtest.h>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using SrvBalance = EdgeFixture;

TEST_F(SrvBalance, SpreadsOverEqualTargets) {
  Backend& b1 = add_greet_echo("b1");
  Backend& b2 = add_greet_echo("b2");
  DnsRecords records;
  add_srv(records, b1);
  add_srv(records, b2);
  start_dns(std::move(records));
  start_edge();

  // Bin(60, 1/2) puts fewer than 10 on one side with probability 3e-8.
  auto counts = spread(60);
  EXPECT_GE(counts["b1"], 10) << describe(counts);
  EXPECT_GE(counts["b2"], 10) << describe(counts);
  EXPECT_EQ(counts["b1"] + counts["b2"], 60) << describe(counts);
  EXPECT_EQ(b1.accepted() + b2.accepted(), 60);

  ASSERT_TRUE(edge().wait_access_log(60, 5s));
  for (const auto& record : edge().access_log()) {
    const std::string target = record.get("target");
    EXPECT_TRUE(target == b1.endpoint() || target == b2.endpoint()) << target;
    const std::string name = record.get("target_name");
    EXPECT_TRUE(name.starts_with("b1.svc.test") || name.starts_with("b2.svc.test")) << name;
    EXPECT_EQ(record.get("close"), "client_closed");
    EXPECT_EQ(record.integer("attempts"), 1);
    EXPECT_EQ(record.integer("bytes_to_client"), 3);  // "bN\n"
    EXPECT_EQ(record.integer("bytes_to_target"), 0);
    EXPECT_TRUE(record.get("client").starts_with("127.0.0.1:")) << record.get("client");
  }
}

TEST_F(SrvBalance, FollowsWeights) {
  Backend& heavy = add_greet_echo("heavy");
  Backend& light = add_greet_echo("light");
  DnsRecords records;
  add_srv(records, heavy, 10, 90);
  add_srv(records, light, 10, 10);
  start_dns(std::move(records));
  start_edge();

  // n = 400 picks with p = 0.9: mean 360, sd 6. Exact binomial tails: P(X < 328) = 3.8e-7 and
  // P(X > 386) = 2.4e-7, so a correct picker fails this with probability < 1e-6. An unweighted
  // (50/50) picker lands near 200 (12.8 sd below 328) and a "heaviest only" one at 400; an
  // 80/20 one still passes 17% of the time, which is the price of a flake-free bound.
  constexpr int kConnections = 400;
  auto counts = spread(kConnections);
  EXPECT_EQ(counts["heavy"] + counts["light"], kConnections) << describe(counts);
  EXPECT_GE(counts["heavy"], 328) << describe(counts);
  EXPECT_LE(counts["heavy"], 386) << describe(counts);
}

TEST_F(SrvBalance, LowerPriorityValueWinsAndOtherIsFailover) {
  Backend& primary = add_greet_echo("primary");
  Backend& standby = add_greet_echo("standby");
  DnsRecords records;
  add_srv(records, primary, 10, 10);
  add_srv(records, standby, 20, 10);
  start_dns(std::move(records));
  start_edge();

  auto counts = spread(50);
  EXPECT_EQ(counts["primary"], 50) << describe(counts);
  EXPECT_EQ(standby.accepted(), 0);

  // The primary now refuses connections: every client must be served by the standby.
  primary.stop_listening();
  counts = spread(30);
  EXPECT_EQ(counts["standby"], 30) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(80, 5s));
  const auto served = access_log_for(standby);
  ASSERT_EQ(served.size(), 30u);
  for (const auto& record : served) {
    const auto attempts = record.integer("attempts");
    EXPECT_TRUE(attempts == 1 || attempts == 2) << record.get("attempts");
    EXPECT_EQ(record.get("close"), "client_closed");
  }
}

}  // namespace
}  // namespace edge::test
