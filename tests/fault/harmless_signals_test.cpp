// Case 11: SIGHUP, SIGPIPE, SIGUSR1 and SIGUSR2 sent to a daemon with live transfers leave the
// process and every connection untouched (kill -HUP is many operators' reload habit; until
// reloading exists it must say so and go on).
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>

#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using HarmlessSignals = FaultFixture;

TEST_F(HarmlessSignals, HupPipeUsr1Usr2LeaveTheProcessAndItsTransfersRunning) {
  add_backend_process({.mode = "echo", .greet = "echo\n"});
  DnsRecords records;
  add_target(records, "echo", backend_processes_[0]->port());
  start_dns(records);
  start_edge();

  std::vector<std::unique_ptr<EchoStream>> streams;
  for (std::uint64_t i = 0; i < 8; ++i) {
    streams.push_back(EchoStream::open(edge().port(), 1100 + i));
    ASSERT_TRUE(streams.back());
    streams.back()->start();
  }
  const auto all_flowing = [&] {
    for (auto& s : streams) {
      if (s->done()) return false;
    }
    return edge().process().running();
  };

  for (const int signo : {SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2}) {
    SCOPED_TRACE(sigabbrev_np(signo));
    ASSERT_EQ(::kill(edge().process().pid(), signo), 0);
    // Half a second each: a default disposition kills at once.
    ASSERT_TRUE(hold_for(all_flowing, 500ms, 20ms))
        << "after SIG" << sigabbrev_np(signo) << ": the process or a transfer ended";
  }
  EXPECT_TRUE(edge().process().wait_for_line(Stream::err, "signal SIGHUP: nothing to reload", 2s))
      << "no log line says that SIGHUP did nothing";

  for (auto& s : streams) {
    EXPECT_TRUE(s->finish(10s)) << s->describe();
    EXPECT_TRUE(s->byte_exact()) << s->describe();
  }
  std::cout << "8 transfers of " << streams[0]->bytes_sent() << "+ bytes each, byte-exact\n";
  EXPECT_EQ(greeting_through_edge(), "echo");
  EXPECT_TRUE(edge().process().running());
}

}  // namespace
}  // namespace edge::test
