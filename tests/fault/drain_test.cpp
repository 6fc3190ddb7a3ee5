// Case 6: SIGTERM with 50 busy connections and --drain-delay 2s. During the delay new
// connections are still accepted and served (a load balancer in front is still sending);
// after it they are refused; the 50 run on to their own end, byte-exact; one summary line;
// exit status 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using Drain = FaultFixture;

constexpr int kBusy = 50;

TEST_F(Drain, AcceptsDuringTheDelayRefusesAfterItAndLetsBusyConnectionsFinish) {
  add_backend_process({.mode = "echo", .greet = "echo\n"});
  DnsRecords records;
  add_target(records, "echo", backend_processes_[0]->port());
  start_dns(records);
  start_edge({"--drain-delay", "2s", "--drain-timeout", "60s"});

  std::vector<std::unique_ptr<EchoStream>> streams;
  for (int i = 0; i < kBusy; ++i) {
    streams.push_back(EchoStream::open(edge().port(), 600 + static_cast<std::uint64_t>(i)));
    ASSERT_TRUE(streams.back()) << "busy connection " << i;
    streams.back()->start();
  }

  ASSERT_TRUE(signal_edge(SIGTERM));
  const auto term = std::chrono::steady_clock::now();
  const auto at = [&](std::chrono::milliseconds offset) {
    run_until([&] { return std::chrono::steady_clock::now() >= term + offset; }, offset, 5ms);
  };

  // During the delay: new connections are served (each takes a few ms).
  int served_during_delay = 0;
  for (int i = 0; i < 5; ++i) {
    at(std::chrono::milliseconds(200 + i * 300));
    const auto greeting = greeting_through_edge();
    EXPECT_EQ(greeting, "echo") << "connection " << elapsed_ms(term) << " ms after SIGTERM";
    served_during_delay += greeting == "echo";
  }
  EXPECT_LT(elapsed_ms(term), 2000) << "the connections meant for the delay came too late";

  // After it: refused (or, at worst, closed without being served).
  at(2700ms);
  auto late = TcpClient::connect("127.0.0.1", edge().port(), 2s);
  const bool refused = !late || !late->read_line(2s).has_value();
  EXPECT_TRUE(refused) << "a connection 2.7 s after SIGTERM (delay 2 s) was served";
  std::cout << "late connection " << (!late ? "refused" : "accepted then closed") << "\n";

  // The busy connections are still running; they end by themselves, byte-exact.
  for (auto& s : streams) EXPECT_FALSE(s->done()) << s->describe();
  for (auto& s : streams) {
    EXPECT_TRUE(s->finish(10s)) << s->describe();
    EXPECT_TRUE(s->byte_exact()) << s->describe();
  }
  const auto status = edge().process().wait_exit(10s);
  std::cout << "exit status " << (status ? std::to_string(*status) : "none") << " "
            << elapsed_ms(term) << " ms after SIGTERM\n";
  EXPECT_EQ(status, 0);
  const auto summary = edge().process().wait_for_line(Stream::err, "drain finished: ", 0ms);
  ASSERT_TRUE(summary) << "no summary line";
  std::cout << *summary << "\n";
  // "drain finished: N connection(s) ended by themselves, M cut"; N counts the busy ones (and
  // may count those served during the delay: they were open when the drain began).
  const auto from = summary->find("drain finished: ") + 16;
  const long ended = std::strtol(summary->c_str() + from, nullptr, 10);
  EXPECT_GE(ended, kBusy) << *summary;
  EXPECT_LE(ended, kBusy + served_during_delay) << *summary;
  EXPECT_NE(summary->find("connection(s) ended by themselves, 0 cut"), std::string::npos)
      << *summary;
}

}  // namespace
}  // namespace edge::test
