// Discovery over time: record changes are followed within TTL + 2 s, and the last good targets
// survive a dead DNS server, NXDOMAIN and an empty answer.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using DiscoveryRefresh = EdgeFixture;

// dnsmasq serves every record with TTL 1 (--local-ttl=1); the daemon runs with
// --min-refresh 1s --max-refresh 2s, so it must re-query about every second.
constexpr std::chrono::milliseconds kTtl = 1s;

// The TTL field of an answer line as dig prints it: "NAME TTL CLASS TYPE DATA...".
long ttl_of(const std::string& answer) {
  std::istringstream fields(answer);
  std::string name;
  long ttl = -1;
  fields >> name >> ttl;
  return ttl;
}

TEST_F(DiscoveryRefresh, FollowsRecordChangeAndKeepsOpenConnections) {
  Backend& old_backend = add_greet_echo("old");
  Backend& new_backend = add_greet_echo("new");
  DnsRecords before;
  add_srv(before, old_backend);
  before.hosts.push_back({host_name(new_backend), new_backend.address()});
  start_dns(before);
  const DigResult answer = dns().dig(kService, "SRV");
  ASSERT_EQ(answer.answers.size(), 1u);
  ASSERT_EQ(ttl_of(answer.answers[0]), kTtl.count() / 1000) << answer.answers[0];
  start_edge();

  auto open = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(open);
  ASSERT_EQ(open->read_line(kIoTimeout), "old");

  DnsRecords after;
  add_srv(after, new_backend);
  after.hosts.push_back({host_name(old_backend), old_backend.address()});
  dns().restart(after);
  const auto changed = std::chrono::steady_clock::now();

  EXPECT_TRUE(run_until([&] { return greeting_through_edge() == "new"; }, kTtl + 2s, 20ms))
      << "still not routed to the new target " << kTtl.count() + 2000 << " ms after the change";
  const auto followed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - changed);
  std::cout << "record change followed after " << followed_ms.count() << " ms\n";
  auto counts = spread(20);
  EXPECT_EQ(counts["new"], 20) << describe(counts);

  // The connection opened before the change still works both ways.
  EXPECT_EQ(open->write_all("still there?\n", kIoTimeout), IoResult::ok);
  EXPECT_EQ(open->read_line(kIoTimeout), "still there?");
  open->shutdown_write();
  EXPECT_EQ(open->read_until_eof(kIoTimeout), "");
}

TEST_F(DiscoveryRefresh, KeepsLastGoodTargetsWhenDnsFails) {
  Backend& backend = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, backend);
  start_dns(records);
  start_edge();
  ASSERT_EQ(greeting_through_edge(), "b1");

  // Several refresh intervals (at most 2 s each) in every phase; a connection every 200 ms.
  const auto still_routed = [&] { return greeting_through_edge() == "b1"; };

  dns().stop();
  EXPECT_TRUE(hold_for(still_routed, 4500ms, 200ms)) << "DNS server down";

  dns().restart({.hosts = records.hosts});  // the SRV name is gone
  ASSERT_EQ(dns().dig(kService, "SRV").status, "NXDOMAIN");
  EXPECT_TRUE(hold_for(still_routed, 4500ms, 200ms)) << "NXDOMAIN";
  // 1 query is dig's; the rest prove the daemon kept asking and kept getting NXDOMAIN.
  EXPECT_GE(dns().queries_for(kService, "SRV"), 3u);

  // A record of another type at the same name: NOERROR with an empty answer (NODATA).
  dns().restart({.hosts = {{kService, "127.0.0.9"}}});
  const DigResult empty = dns().dig(kService, "SRV");
  ASSERT_EQ(empty.status, "NOERROR");
  ASSERT_TRUE(empty.answers.empty());
  EXPECT_TRUE(hold_for(still_routed, 4500ms, 200ms)) << "empty answer";
  EXPECT_GE(dns().queries_for(kService, "SRV"), 3u);
}

}  // namespace
}  // namespace edge::test
