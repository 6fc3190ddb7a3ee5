// Case 4: the DNS server goes down for the whole test right after the first answer; every one
// of 200 connections, paced over several refresh intervals, is still served.
// With --state-file, a daemon restarted while the DNS server is still down serves the saved set
// (the file's own edge cases are in tests/integration/state_file_test.cpp).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
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

TEST_F(DnsOutage, ARestartDuringTheOutageServesEveryConnectionFromTheStateFile) {
  std::string dir = ::testing::TempDir() + "edge-fault-state.XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/targets.state";
  BackendProcess& backend = add_backend_process({.mode = "echo", .greet = "served\n"});
  DnsRecords records;
  add_target(records, "backend", backend.port());
  start_dns(records);
  start_edge({"--state-file", path});
  ASSERT_EQ(greeting_through_edge(), "served");
  ASSERT_TRUE(run_until([&] { return std::filesystem::exists(path); }, 5s));
  dns().stop();

  ASSERT_TRUE(edge().process().terminate(5s).has_value());
  edge_.reset();
  start_edge({"--state-file", path});  // the first DNS round fails: the saved set is served
  constexpr int kConnections = 200;
  int served = 0;
  for (int i = 0; i < kConnections; ++i) served += greeting_through_edge() == "served" ? 1 : 0;
  std::cout << served << " of " << kConnections << " served after a restart with DNS down\n";
  EXPECT_EQ(served, kConnections);
  bool said_so = false;
  for (const auto& line : edge().stderr_lines()) {
    said_so |= line.find("serving 1 saved target(s) from " + path) != std::string::npos;
  }
  EXPECT_TRUE(said_so);
  edge().process().terminate(5s);
  edge_.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edge::test
