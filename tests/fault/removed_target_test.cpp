// Case 5: a target removed from the DNS answer. New connections avoid it within TTL + 2 s;
// connections already open to it keep running, byte-exact, until they end by themselves.
#include <gtest/gtest.h>

#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using RemovedTarget = FaultFixture;

constexpr auto kTtl = 1s;  // dnsmasq --local-ttl=1; the daemon refreshes every 1-2 s

TEST_F(RemovedTarget, NewConnectionsAvoidItWithinTtlPlusTwoSecondsOldOnesRunOnByteExact) {
  BackendProcess& kept = add_backend_process({.mode = "echo", .greet = "kept\n"});
  BackendProcess& removed = add_backend_process({.mode = "echo", .greet = "removed\n"});
  DnsRecords both;
  add_target(both, "kept", kept.port());
  add_target(both, "removed", removed.port());
  start_dns(both);
  start_edge();

  // At least three streams to the target that is about to go (each connection picks at random).
  std::vector<std::unique_ptr<EchoStream>> streams;
  for (int i = 0; i < 60 && streams.size() < 3; ++i) {
    auto stream = EchoStream::open(edge().port(), 100 + static_cast<std::uint64_t>(i));
    ASSERT_TRUE(stream);
    if (stream->greeting() == "removed") streams.push_back(std::move(stream));
  }
  ASSERT_EQ(streams.size(), 3u);
  for (auto& s : streams) s->start();

  DnsRecords without;
  add_target(without, "kept", kept.port());
  without.hosts.push_back({"removed.svc.test", "127.0.0.1"});
  dns().restart(without);
  const auto changed = std::chrono::steady_clock::now();

  // Avoided from the first of 20 connections in a row that all reach the other target.
  int streak = 0;
  long long streak_began_ms = 0;
  const bool avoided = run_until(
      [&] {
        const long long began = elapsed_ms(changed);
        if (greeting_through_edge() != "kept") {
          streak = 0;
        } else if (streak++ == 0) {
          streak_began_ms = began;
        }
        return streak >= 20;
      },
      kTtl + 2s + 5s, 1ms);
  ASSERT_TRUE(avoided);
  std::cout << "removed target avoided from " << streak_began_ms << " ms after the DNS change\n";
  EXPECT_LE(streak_began_ms, std::chrono::milliseconds(kTtl + 2s).count());

  // The old streams keep flowing several refresh intervals past the change, then end.
  const auto bytes_at_change = streams[0]->bytes_received();
  EXPECT_TRUE(hold_for(
      [&] {
        for (auto& s : streams) {
          if (s->done()) return false;
        }
        return true;
      },
      3s, 100ms))
      << "a stream to the removed target ended before the test ended it";
  for (auto& s : streams) {
    EXPECT_TRUE(s->finish(10s)) << s->describe();
    EXPECT_TRUE(s->byte_exact()) << s->describe();
    std::cout << "stream to the removed target: " << s->describe() << "\n";
  }
  EXPECT_GT(streams[0]->bytes_received(), bytes_at_change);
}

}  // namespace
}  // namespace edge::test
