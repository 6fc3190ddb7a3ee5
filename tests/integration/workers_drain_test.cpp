// Several workers (SO_REUSEPORT) serve every connection; SIGTERM stops accepting but lets open
// connections finish, up to --drain-timeout. A second process on the same port shares the
// connections, and takes all of them once the first one drained (a restart without a gap).
#include <gtest/gtest.h>
#include <signal.h>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

class WorkersAndDrain : public EdgeFixture {
 protected:
  Backend& start_one_backend() {
    Backend& backend = add_greet_echo("b1");
    DnsRecords records;
    add_srv(records, backend);
    start_dns(records);
    return backend;
  }
};

bool stderr_has(const EdgeProcess& edge, const std::string& text) {
  for (const auto& line : edge.stderr_lines()) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_F(WorkersAndDrain, SeveralWorkersServeEveryConnection) {
  start_one_backend();
  start_edge({"--workers", "3"});
  EXPECT_TRUE(stderr_has(edge(), "(3 workers)"));

  const auto counts = spread(60);
  EXPECT_EQ(counts.at("b1"), 60) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(60, kIoTimeout));
}

TEST_F(WorkersAndDrain, SigtermLetsOpenConnectionsFinish) {
  start_one_backend();
  start_edge({"--workers", "2", "--drain-timeout", "20s"});

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "b1");
  ASSERT_TRUE(signal_edge(SIGTERM));
  ASSERT_TRUE(run_until([&] { return stderr_has(edge(), "draining"); }, 5s));

  // No new connections, but the open one keeps working both ways.
  // Each worker closes its own listener when the drain reaches it: soon after the log line.
  EXPECT_TRUE(run_until(
      [&] { return !TcpClient::connect("127.0.0.1", edge().port(), 1s).has_value(); }, 3s));
  ASSERT_EQ(client->write_all("still here\n", kIoTimeout), IoResult::ok);
  EXPECT_EQ(client->read_line(kIoTimeout), "still here");
  EXPECT_FALSE(edge().process().wait_exit(300ms)) << "exited while a connection was open";

  client->shutdown_write();
  EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  // Probes that slipped in before every listener closed have lines too: find ours.
  const std::string ours = "127.0.0.1:" + std::to_string(client->local_port());
  int found = 0;
  for (const auto& record : edge().access_log()) {
    if (record.get("client") != ours) continue;
    ++found;
    EXPECT_EQ(record.get("close"), "client_closed");
    EXPECT_EQ(record.integer("bytes_to_target"), 11);
  }
  EXPECT_EQ(found, 1);
}

TEST_F(WorkersAndDrain, DrainTimeoutClosesWhatIsStillOpen) {
  start_one_backend();
  start_edge({"--drain-timeout", "500ms"});

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "b1");
  ASSERT_TRUE(signal_edge(SIGTERM));

  EXPECT_NE(client->wait_closed(5s), IoResult::timeout);
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  const auto log = edge().access_log();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].get("close"), "shutdown");
}

TEST_F(WorkersAndDrain, ASecondProcessOnThePortTakesOverWhenTheFirstDrains) {
  start_one_backend();
  start_edge({"--workers", "1"});
  std::vector<std::string> args = {"--target",  kService,
                                   "--workers", "1",
                                   "--listen",  "127.0.0.1:" + std::to_string(edge().port())};
  for (auto& arg : dns_args()) args.push_back(std::move(arg));
  EdgeProcess second({.args = std::move(args)});
  ASSERT_EQ(second.port(), edge().port());

  auto counts = spread(40);
  EXPECT_EQ(counts["b1"], 40) << describe(counts);
  ASSERT_TRUE(
      run_until([&] { return edge().access_log().size() + second.access_log().size() == 40; }, 5s));
  EXPECT_GT(edge().access_log().size(), 0u) << "the kernel gave the first process nothing";
  EXPECT_GT(second.access_log().size(), 0u) << "the kernel gave the second process nothing";

  ASSERT_TRUE(signal_edge(SIGTERM));
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  const size_t before = second.access_log().size();
  counts = spread(20);
  EXPECT_EQ(counts["b1"], 20) << describe(counts);
  EXPECT_TRUE(run_until([&] { return second.access_log().size() == before + 20; }, 5s));
}

// Every change of readiness is logged once: no targets, then ready when DNS answers, then not
// ready at SIGTERM.
TEST_F(WorkersAndDrain, ReadinessFollowsTargetsAndDrain) {
  Backend& backend = add_greet_echo("b1");
  start_dns({});  // no record yet
  start_edge({"--workers", "2"});
  EXPECT_TRUE(run_until([&] { return stderr_has(edge(), "not ready: no targets"); }, 5s));
  EXPECT_FALSE(stderr_has(edge(), "info ready"));

  DnsRecords records;
  add_srv(records, backend);
  dns().restart(records);
  ASSERT_TRUE(run_until([&] { return stderr_has(edge(), "info ready"); }, 10s));
  EXPECT_EQ(greeting_through_edge(), "b1");

  ASSERT_TRUE(signal_edge(SIGTERM));
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  EXPECT_TRUE(stderr_has(edge(), "not ready: draining"));
  int ready_lines = 0;
  for (const auto& line : edge().stderr_lines()) {
    ready_lines += line.find("info ready") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(ready_lines, 1) << "the same state logged twice";
}

// --drain-timeout off: an open connection outlives any timeout; a second signal cuts it, and
// the summary line counts it as cut.
TEST_F(WorkersAndDrain, DrainTimeoutOffWaitsUntilASecondSignal) {
  start_one_backend();
  start_edge({"--drain-timeout", "off"});
  auto quiet = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  auto finishing = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(quiet && finishing);
  ASSERT_EQ(quiet->read_line(kIoTimeout), "b1");
  ASSERT_EQ(finishing->read_line(kIoTimeout), "b1");
  ASSERT_TRUE(signal_edge(SIGTERM));
  ASSERT_TRUE(run_until([&] { return stderr_has(edge(), "draining (no timeout)"); }, 5s));
  finishing->shutdown_write();
  EXPECT_EQ(finishing->wait_closed(kIoTimeout), IoResult::eof);

  EXPECT_FALSE(edge().process().wait_exit(1500ms)) << "gave up on an open connection";
  ASSERT_EQ(quiet->write_all("late\n", kIoTimeout), IoResult::ok);
  EXPECT_EQ(quiet->read_line(kIoTimeout), "late");

  ASSERT_TRUE(signal_edge(SIGTERM));
  EXPECT_NE(quiet->wait_closed(5s), IoResult::timeout);
  EXPECT_EQ(edge().process().wait_exit(5s), 0);
  EXPECT_TRUE(stderr_has(edge(), "drain finished: 1 connection(s) ended by themselves, 1 cut"));
  std::map<std::string, int> reasons;
  for (const auto& record : edge().access_log()) ++reasons[record.get("close")];
  EXPECT_EQ(reasons["shutdown"], 1);
  EXPECT_EQ(reasons["client_closed"], 1);
}

// A client beyond --max-connections is closed at once with close=limit; the open ones go on,
// and a place that frees is taken by the next client.
TEST_F(WorkersAndDrain, AClientBeyondMaxConnectionsIsClosedAtOnceAndOthersGoOn) {
  start_one_backend();
  start_edge({"--workers", "2", "--max-connections", "3"});
  EXPECT_TRUE(stderr_has(edge(), "at most 3 connections (--max-connections"));
  std::vector<TcpClient> open;
  for (int i = 0; i < 3; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    ASSERT_EQ(client->read_line(kIoTimeout), "b1");
    open.push_back(std::move(*client));
  }
  auto extra = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(extra);
  EXPECT_NE(extra->wait_closed(1s), IoResult::timeout) << "the client beyond the limit hangs";
  ASSERT_TRUE(run_until([&] { return !edge().access_log().empty(); }, 2s));
  const auto refused = edge().access_log().front();
  EXPECT_EQ(refused.get("close"), "limit");
  EXPECT_EQ(refused.get("target"), "-");
  EXPECT_TRUE(stderr_has(edge(), "connection limit reached: 3 open, at most 3"));

  for (auto& client : open) {  // untouched
    ASSERT_EQ(client.write_all("x\n", kIoTimeout), IoResult::ok);
    EXPECT_EQ(client.read_line(kIoTimeout), "x");
  }
  open.front().shutdown_write();
  EXPECT_EQ(open.front().wait_closed(kIoTimeout), IoResult::eof);
  EXPECT_TRUE(run_until([&] { return greeting_through_edge() == "b1"; }, 3s));
}

}  // namespace
}  // namespace edge::test
