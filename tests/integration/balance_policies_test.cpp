// --balance through the real daemon: least-connections evens out long-lived connections,
// round-robin takes turns exactly, source-hash keeps a client on one target.
#include <gtest/gtest.h>

#include <vector>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

class BalancePolicies : public EdgeFixture {
 protected:
  void start_three(const std::string& policy) {
    DnsRecords records;
    for (const char* id : {"b1", "b2", "b3"}) add_srv(records, add_greet_echo(id));
    start_dns(records);
    start_edge({"--balance", policy, "--workers", "1"});
  }
};

TEST_F(BalancePolicies, LeastConnectionsEvensOutLongLivedConnections) {
  start_three("least-connections");
  std::vector<TcpClient> held;
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    ++counts[client->read_line(kIoTimeout).value_or("<no greeting>")];
    held.push_back(std::move(*client));  // stays open: counts as active
  }
  EXPECT_EQ(counts, (std::map<std::string, int>{{"b1", 10}, {"b2", 10}, {"b3", 10}}))
      << describe(counts);
}

TEST_F(BalancePolicies, LeastConnectionsSendsNewClientsWhereConnectionsEnded) {
  start_three("least-connections");
  std::map<std::string, std::vector<TcpClient>> held;
  for (int i = 0; i < 15; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    held[client->read_line(kIoTimeout).value_or("?")].push_back(std::move(*client));
  }
  ASSERT_EQ(held["b2"].size(), 5u);
  held["b2"].clear();  // five connections to b2 end
  ASSERT_TRUE(edge().wait_access_log(5, kIoTimeout));
  std::map<std::string, int> next;
  std::vector<TcpClient> more;
  for (int i = 0; i < 5; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    ++next[client->read_line(kIoTimeout).value_or("?")];
    more.push_back(std::move(*client));
  }
  EXPECT_EQ(next, (std::map<std::string, int>{{"b2", 5}})) << describe(next);
}

TEST_F(BalancePolicies, RoundRobinTakesTurns) {
  start_three("round-robin");
  const auto counts = spread(30);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"b1", 10}, {"b2", 10}, {"b3", 10}}))
      << describe(counts);
}

TEST_F(BalancePolicies, SourceHashKeepsOneClientAddressOnOneTarget) {
  start_three("source-hash");
  const auto counts = spread(30);  // every connection comes from 127.0.0.1
  EXPECT_EQ(counts.size(), 1u) << describe(counts);
}

}  // namespace
}  // namespace edge::test
