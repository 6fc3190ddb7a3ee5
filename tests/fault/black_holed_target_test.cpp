// Case 2: a target whose SYNs vanish (dropped with iptables in the test's namespace). Clients
// are served by the other target after the connect timeout; the target is ejected once, for
// every worker (the health table is shared), so no worker tries it again during the back-off;
// once the drop rule is gone it is readmitted within the back-off.
#include <gtest/gtest.h>

#include <iostream>

#include "fault_fixture.h"
#include "private_network.h"
#include "run_until.h"

namespace edge::test {
namespace {

using BlackHoledTarget = FaultFixture;

constexpr auto kBackoff = 4s;  // --refused-backoff = --eject-max: one back-off, never doubled

TEST_F(BlackHoledTarget, EjectedOnceForEveryWorkerAndReadmittedWithinTheBackoff) {
  BackendProcess& good = add_backend_process({.mode = "echo", .greet = "good\n"});
  BackendProcess& holed = add_backend_process({.mode = "echo", .greet = "holed\n"});
  DnsRecords records;
  add_target(records, "good", good.port());
  add_target(records, "holed", holed.port());
  start_dns(records);
  start_edge({"--workers", "2", "--connect-timeout", "500ms", "--connect-retries", "2",
              "--refused-backoff", "4s", "--eject-max", "4s"});
  const std::vector<std::string> ejected = {"target " + holed.endpoint(), " ejected"};
  const std::vector<std::string> readmitted = {"target " + holed.endpoint(), " readmitted"};

  // Both targets are in use before the fault.
  int holed_before = 0;
  run_until([&] { return (holed_before += greeting_through_edge() == "holed") > 0; }, 5s, 0ms);
  ASSERT_GT(holed_before, 0);
  const std::size_t log_before = edge().access_log().size();

  DropRule drop({"-p", "tcp", "--dport", std::to_string(holed.port()), "--syn"});

  // 2.5 s of sequential connections (well inside the back-off), spread over both workers by
  // SO_REUSEPORT: every one is served by the good target.
  std::map<std::string, int> counts;
  long long slowest_ms = 0;
  hold_for(
      [&] {
        const auto started = std::chrono::steady_clock::now();
        ++counts[greeting_through_edge()];
        slowest_ms = std::max(slowest_ms, elapsed_ms(started));
        return true;
      },
      2500ms, 20ms);
  std::cout << "while black-holed: " << describe(counts) << ", slowest connection " << slowest_ms
            << " ms\n";
  EXPECT_EQ(counts.size(), 1u) << describe(counts);
  EXPECT_GT(counts["good"], 20) << describe(counts);
  EXPECT_GE(slowest_ms, 450) << "no connection went through the connect timeout";
  EXPECT_EQ(log_count_all(ejected), 1u) << "one `ejected` line for the black-holed target";

  // Only the first connection that picked the target paid for it: no other attempt was made.
  ASSERT_TRUE(edge().wait_access_log(log_before + static_cast<std::size_t>(counts["good"]), 5s));
  const auto log = edge().access_log();
  int retried = 0;
  for (std::size_t i = log_before; i < log.size(); ++i) {
    retried += log[i].integer("attempts").value_or(0) > 1 ? 1 : 0;
  }
  EXPECT_EQ(retried, 1) << "connections that tried the black-holed target during the back-off";

  drop.remove();
  const auto removed = std::chrono::steady_clock::now();
  // Traffic keeps coming: after the back-off the next connection to it is the probe.
  const bool back = run_until(
      [&] {
        greeting_through_edge();
        return log_count_all(readmitted) == 1;
      },
      kBackoff + 1500ms, 50ms);
  std::cout << "readmitted " << elapsed_ms(removed) << " ms after the rule was removed\n";
  EXPECT_TRUE(back) << "no `readmitted` line within the back-off after the rule was removed";
  counts.clear();
  for (int i = 0; i < 30; ++i) ++counts[greeting_through_edge()];
  EXPECT_GT(counts["holed"], 0) << describe(counts);
  EXPECT_EQ(log_count_all(ejected), 1u);
}

}  // namespace
}  // namespace edge::test
