// On a host without IPv6 (socket(AF_INET6) fails: a kernel booted with ipv6.disable=1), a
// dual-stack target is still reached over IPv4: a socket that cannot be opened costs neither a
// connect attempt nor the target's health, and the next address is tried.
#include <gtest/gtest.h>

#include "edge_fixture.h"

#ifndef NO_IPV6_EXEC_BIN
#error "NO_IPV6_EXEC_BIN must name the no_ipv6_exec helper (set by CMake)"
#endif

namespace edge::test {
namespace {

class NoIpv6Host : public EdgeFixture {};

TEST_F(NoIpv6Host, ADualStackTargetIsReachedOverIpv4) {
  Backend& backend = add_greet_echo("b1");  // 127.0.0.1 only
  DnsRecords records;
  add_srv(records, backend);
  records.hosts.push_back({.name = host_name(backend), .address = "::1"});  // AAAA too
  start_dns(std::move(records));
  std::vector<std::string> args = {"--target", kService, "--connect-retries", "0"};
  for (auto& arg : dns_args()) args.push_back(std::move(arg));
  start_edge_with({.args = std::move(args), .wrapper = {NO_IPV6_EXEC_BIN}});

  // Each connection picks one of the two addresses at random: with only one attempt allowed,
  // a failed socket(AF_INET6) that ended the connection would fail about half of them.
  const auto counts = spread(20);
  EXPECT_EQ(counts.count("b1") ? counts.at("b1") : 0, 20) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(20, kIoTimeout));
  for (const auto& record : edge().access_log()) {
    EXPECT_EQ(record.get("target"), backend.endpoint());
    EXPECT_EQ(record.integer("attempts"), 1);
  }
}

TEST_F(NoIpv6Host, AnIpv6OnlyTargetFailsWithTheSocketError) {
  Backend& backend = add_greet_echo("b1");
  DnsRecords records;
  records.srv.push_back({.name = kService, .target = "v6.svc.test", .port = backend.port()});
  records.hosts.push_back({.name = "v6.svc.test", .address = "::1"});
  start_dns(std::move(records));
  std::vector<std::string> args = {"--target", kService};
  for (auto& arg : dns_args()) args.push_back(std::move(arg));
  start_edge_with({.args = std::move(args), .wrapper = {NO_IPV6_EXEC_BIN}});

  EXPECT_EQ(greeting_through_edge(), "<no greeting>");
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "connect_failed");
  EXPECT_EQ(record.integer("attempts"), 0);  // no connect was ever sent
  EXPECT_EQ(record.get("error"), "socket: Address family not supported by protocol");
}

}  // namespace
}  // namespace edge::test
