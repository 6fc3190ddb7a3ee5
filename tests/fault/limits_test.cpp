// Case 9: connection limits. Beyond a limit a new client is accepted and closed at once, with
// close=limit in the access log (never left hanging in the accept queue), the process stays
// up, connections already open are untouched, and new clients are served again once others
// leave. First the descriptor limit itself (a daemon under `ulimit -n 64`), then
// --max-connections-per-source.
#include <gtest/gtest.h>

#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using Limits = FaultFixture;

enum class Outcome { served, closed, hung };

struct Probe {
  Outcome outcome;
  long long ms;  // from connect to greeting or close
};

// What became of a just-connected client: greeted by the backend, closed by the daemon, or
// neither within 2 s.
Probe probe(int fd) {
  const auto started = std::chrono::steady_clock::now();
  IoResult end = IoResult::ok;
  const auto line = read_line_exactly(fd, 2s, &end);
  const long long ms = elapsed_ms(started);
  if (line == "hi") return {Outcome::served, ms};
  if (end == IoResult::eof || end == IoResult::reset) return {Outcome::closed, ms};
  return {Outcome::hung, ms};
}

TEST_F(Limits, AtTheDescriptorLimitExcessClientsAreClosedAtOnceAndServedAgainLater) {
  add_backend_process({.mode = "echo", .greet = "hi\n"});
  DnsRecords records;
  add_target(records, "backend", backend_processes_[0]->port());
  start_dns(records);
  std::vector<std::string> args = {"--target", kService, "--workers", "1"};
  for (auto& arg : dns_args()) args.push_back(arg);
  // Soft and hard limit both: the daemon raises its soft limit to the hard one.
  start_edge_with({.args = args, .wrapper = {"prlimit", "--nofile=64:64"}});

  std::vector<UniqueFd> served;
  int closed = 0, hung = 0;
  long long slowest_close_ms = 0;
  for (int i = 0; i < 60; ++i) {
    UniqueFd fd = connect_from("127.0.0.1", edge().port(), 2s);
    if (!fd.valid()) {
      ++closed;  // refused outright counts as closed at once
      continue;
    }
    const Probe p = probe(fd.get());
    if (p.outcome == Outcome::served) served.push_back(std::move(fd));
    if (p.outcome == Outcome::closed) {
      ++closed;
      slowest_close_ms = std::max(slowest_close_ms, p.ms);
    }
    hung += p.outcome == Outcome::hung;
  }
  std::cout << served.size() << " served, " << closed << " closed at once (slowest "
            << slowest_close_ms << " ms), " << hung << " hung, of 60 under ulimit -n 64\n";
  EXPECT_TRUE(edge().process().running());
  EXPECT_GT(served.size(), 0u);
  EXPECT_GT(closed, 0) << "60 connections should not fit in 64 descriptors";
  EXPECT_EQ(hung, 0);
  EXPECT_LT(slowest_close_ms, 1000);
  ASSERT_TRUE(edge().wait_access_log(static_cast<std::size_t>(closed), 5s));
  int limited = 0;
  for (const auto& record : edge().access_log()) limited += record.get("close") == "limit";
  EXPECT_EQ(limited, closed) << "close=limit records";
  EXPECT_GE(log_count("connection limit reached"), 1u);

  // The connections already open still work.
  for (auto& fd : served) {
    ASSERT_EQ(send_all(fd.get(), "ping\n", 5, Until::in(2s)), IoResult::ok);
    EXPECT_EQ(read_line_exactly(fd.get(), 2s), "ping");
  }
  // Three leave; three new clients are served.
  for (int i = 0; i < 3; ++i) served.pop_back();
  ASSERT_TRUE(edge().wait_access_log(static_cast<std::size_t>(closed) + 3, 5s));
  for (int i = 0; i < 3; ++i) {
    UniqueFd fd = connect_from("127.0.0.1", edge().port(), 2s);
    ASSERT_TRUE(fd.valid());
    EXPECT_EQ(probe(fd.get()).outcome, Outcome::served) << "new client " << i;
    served.push_back(std::move(fd));
  }
}

TEST_F(Limits, PerSourceLimitClosesTheExcessOfOneAddressAndLeavesOthersAlone) {
  add_backend_process({.mode = "echo", .greet = "hi\n"});
  DnsRecords records;
  add_target(records, "backend", backend_processes_[0]->port());
  start_dns(records);
  start_edge({"--max-connections-per-source", "100"});

  std::vector<UniqueFd> held;
  int served = 0, closed = 0, hung = 0;
  long long slowest_close_ms = 0;
  for (int i = 0; i < 200; ++i) {
    UniqueFd fd = connect_from("127.0.0.2", edge().port(), 2s);
    ASSERT_TRUE(fd.valid()) << "connection " << i << " from 127.0.0.2";
    const Probe p = probe(fd.get());
    served += p.outcome == Outcome::served;
    hung += p.outcome == Outcome::hung;
    if (p.outcome == Outcome::closed) {
      ++closed;
      slowest_close_ms = std::max(slowest_close_ms, p.ms);
    }
    held.push_back(std::move(fd));
  }
  int other_served = 0;
  for (int i = 0; i < 20; ++i) {
    UniqueFd fd = connect_from("127.0.0.3", edge().port(), 2s);
    ASSERT_TRUE(fd.valid()) << "connection " << i << " from 127.0.0.3";
    other_served += probe(fd.get()).outcome == Outcome::served;
    held.push_back(std::move(fd));
  }
  std::cout << "127.0.0.2: " << served << " served, " << closed << " closed (slowest "
            << slowest_close_ms << " ms), " << hung << " hung; 127.0.0.3: " << other_served
            << " of 20 served\n";
  EXPECT_EQ(served, 100);
  EXPECT_EQ(closed, 100);
  EXPECT_EQ(hung, 0);
  EXPECT_LT(slowest_close_ms, 1000);
  EXPECT_EQ(other_served, 20);
  EXPECT_GE(log_count("per-source limit reached for 127.0.0.2"), 1u);
  EXPECT_EQ(log_count("per-source limit reached for 127.0.0.3"), 0u);

  held.clear();
  ASSERT_TRUE(edge().wait_access_log(220, 10s));
  int limited_2 = 0, limited_3 = 0;
  for (const auto& record : edge().access_log()) {
    if (record.get("close") != "limit") continue;
    limited_2 += record.get("client").starts_with("127.0.0.2:");
    limited_3 += record.get("client").starts_with("127.0.0.3:");
  }
  EXPECT_EQ(limited_2, 100);
  EXPECT_EQ(limited_3, 0);
}

}  // namespace
}  // namespace edge::test
