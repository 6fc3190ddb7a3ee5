// Case 3: a target whose port accepts but whose service never greets, with active health
// checks expecting an SSH greeting: it leaves the selection, and comes back once it greets.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using MuteTarget = FaultFixture;

TEST_F(MuteTarget, LeavesTheSelectionWhileSilentAndComesBackWhenItGreets) {
  BackendProcess& good = add_backend_process({.mode = "echo", .greet = "SSH-2.0-good\r\n"});
  BackendProcess& mute = add_backend_process({.mode = "silent"});
  const std::uint16_t mute_port = mute.port();
  DnsRecords records;
  add_target(records, "good", good.port());
  add_target(records, "mute", mute_port);
  start_dns(records);
  const auto started = std::chrono::steady_clock::now();
  start_edge({"--health-check-interval", "500ms", "--health-check-timeout", "1s",
              "--health-check-expect", "SSH-2.0-", "--refused-backoff", "1s", "--eject-max", "2s"});
  const std::string mute_endpoint = "127.0.0.1:" + std::to_string(mute_port);

  // Out of the selection after one check interval plus the check's timeout (and slack).
  ASSERT_TRUE(run_until(
      [&] {
        return log_count_all({"target " + mute_endpoint, " ejected"}) > 0;
      },
      5s))
      << "the mute target was not ejected";
  std::cout << "mute target ejected " << elapsed_ms(started) << " ms after start-up\n";
  std::map<std::string, int> counts = spread(30);
  EXPECT_EQ(counts["SSH-2.0-good\r"], 30) << describe(counts);

  // The service comes back on the same port and greets.
  mute.process().send_signal(SIGKILL);
  ASSERT_TRUE(mute.process().wait_exit(5s));
  add_backend_process({.mode = "echo", .greet = "SSH-2.0-back\r\n", .port = mute_port});
  const auto greeting_again = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      [&] {
        return log_count_all({"target " + mute_endpoint, " readmitted"}) > 0;
      },
      8s))
      << "the target that greets again was not readmitted";
  std::cout << "readmitted " << elapsed_ms(greeting_again) << " ms after it greeted again\n";
  counts = spread(30);
  EXPECT_GT(counts["SSH-2.0-back\r"], 0) << describe(counts);
  EXPECT_EQ(counts["SSH-2.0-back\r"] + counts["SSH-2.0-good\r"], 30) << describe(counts);
}

}  // namespace
}  // namespace edge::test
