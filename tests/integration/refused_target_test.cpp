// A target that refuses connections next to a good one: every client is still served.
#include <gtest/gtest.h>

#include "edge_fixture.h"
#include "free_port.h"

namespace edge::test {
namespace {

using RefusedTarget = EdgeFixture;

TEST_F(RefusedTarget, EveryClientIsServedByTheGoodTarget) {
  Backend& good = add_greet_echo("good");
  const std::uint16_t refusing = refusing_port();
  DnsRecords records;
  add_srv(records, good);
  records.srv.push_back({.name = kService, .target = "refuser.svc.test", .port = refusing});
  records.hosts.push_back({"refuser.svc.test", "127.0.0.1"});
  start_dns(std::move(records));
  // A short back-off that never doubles puts the refusing target back in the draw (as a probe)
  // every 20 ms, so the retry path is taken several times over the run rather than once.
  start_edge({"--refused-backoff", "20ms", "--eject-max", "20ms"});

  constexpr int kClients = 50;
  auto counts = spread(kClients);
  EXPECT_EQ(counts["good"], kClients) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(kClients, kIoTimeout));
  int retried = 0;
  for (const auto& record : edge().access_log()) {
    EXPECT_EQ(record.get("target"), good.endpoint());
    EXPECT_EQ(record.get("close"), "client_closed");
    const auto attempts = record.integer("attempts");
    EXPECT_TRUE(attempts == 1 || attempts == 2) << record.get("attempts");
    retried += attempts == 2 ? 1 : 0;
  }
  std::cout << retried << " of " << kClients << " clients needed a second attempt\n";
}

}  // namespace
}  // namespace edge::test
