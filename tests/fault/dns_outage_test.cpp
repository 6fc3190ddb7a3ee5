// Case 4: the DNS server goes down for the whole test right after the first answer; every one
// of 200 connections, paced over several refresh intervals, is still served.
// (Restarting the daemon during the outage with --state-file is in
// tests/integration/state_file_test.cpp.)
#include <gtest/gtest.h>

#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using DnsOutage = FaultFixture;

TEST_F(DnsOutage, EveryConnectionIsServedWhileTheDnsServerIsDown) {
  BackendProcess& backend = add_backend_process({.mode = "echo", .greet = "served\n"});
  DnsRecords records;
  add_target(records, "backend", backend.port());
  start_dns(records);
  start_edge();  // --min-refresh 1s --max-refresh 2s: it asks again every 1-2 s
  ASSERT_EQ(greeting_through_edge(), "served");
  dns().stop();

  // 200 connections over ~6 s: three or more failed refreshes happen among them.
  constexpr int kConnections = 200;
  int served = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kConnections; ++i) {
    const auto at = started + i * 30ms;
    run_until([&] { return std::chrono::steady_clock::now() >= at; }, 1s, 5ms);  // pacing
    if (greeting_through_edge() == "served") ++served;
  }
  std::cout << served << " of " << kConnections << " served in " << elapsed_ms(started)
            << " ms with the DNS server down\n";
  EXPECT_EQ(served, kConnections);
  EXPECT_GE(elapsed_ms(started), 5000);
}

}  // namespace
}  // namespace edge::test
