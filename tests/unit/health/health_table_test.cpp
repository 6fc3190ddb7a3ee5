#include "health/health_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "log_capture.h"

namespace edge::health {
namespace {

using namespace std::chrono_literals;
using Clock = HealthTable::Clock;
using test::LogCapture;

net::Endpoint endpoint(uint16_t port) {
  return {asio::ip::address_v4::loopback(), port};
}

HealthTable::Settings settings(Clock::duration backoff = 5s, Clock::duration max = 30s,
                               Clock::duration probe_expiry = 4s) {
  return {backoff, max, probe_expiry};
}

// A board whose one target "t" has the endpoints on `ports`.
void publish(discovery::TargetBoard& board, std::initializer_list<uint16_t> ports) {
  balance::TargetSet set;
  balance::Target target{.name = "t", .priority = 0, .weight = 1, .endpoints = {}};
  for (auto p : ports) target.endpoints.push_back(endpoint(p));
  set.targets.push_back(std::move(target));
  board.publish(std::make_shared<const balance::TargetSet>(std::move(set)));
}

TEST(HealthTable, NothingIsEjectedAtFirstAndTheViewCarriesNoMap) {
  HealthTable table(settings());
  HealthTable::Reader reader(table);
  EXPECT_TRUE(reader.view().admits(endpoint(1), Clock::now()));
  EXPECT_FALSE(table.ejected(endpoint(1), Clock::now()));
  EXPECT_TRUE(table.claim(endpoint(1), Clock::now()));
  EXPECT_EQ(table.size(), 0u);
}

TEST(HealthTable, AWorkersReaderSeesEveryWriteAfterIt) {
  HealthTable table(settings());
  HealthTable::Reader reader(table);
  const auto now = Clock::now();
  EXPECT_TRUE(reader.view().admits(endpoint(1), now));
  table.connectFailed(endpoint(1), "a", "refused", now);
  EXPECT_FALSE(reader.view().admits(endpoint(1), now));
  EXPECT_TRUE(reader.view().admits(endpoint(2), now));
  reader.connectSucceeded(endpoint(1), "a");
  EXPECT_TRUE(reader.view().admits(endpoint(1), now));
  table.connectFailed(endpoint(2), "a", "refused", now);
  EXPECT_TRUE(reader.view().admits(endpoint(1), now));
  EXPECT_FALSE(reader.view().admits(endpoint(2), now));
}

TEST(HealthTable, EjectsAFailedEndpointForItsBackOffThenLetsOneProbeThrough) {
  HealthTable table(settings());
  const auto t0 = Clock::now();
  table.connectFailed(endpoint(1), "a", "Connection refused", t0);
  EXPECT_TRUE(table.ejected(endpoint(1), t0 + 4s));
  EXPECT_FALSE(table.claim(endpoint(1), t0 + 4s));
  EXPECT_FALSE(table.ejected(endpoint(2), t0));
  // Back-off over: the next connection is the probe, the others still skip it.
  EXPECT_FALSE(table.ejected(endpoint(1), t0 + 5s));
  EXPECT_TRUE(table.claim(endpoint(1), t0 + 5s));
  EXPECT_TRUE(table.ejected(endpoint(1), t0 + 5s));
  EXPECT_FALSE(table.claim(endpoint(1), t0 + 6s));
}

TEST(HealthTable, BackOffDoublesOnEachFailedProbeUpToTheCap) {
  HealthTable table(settings(5s, 30s));
  auto now = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", now);
  std::vector<Clock::duration> seen{table.backoffOf(endpoint(1))};
  for (int i = 0; i < 4; ++i) {
    now += table.backoffOf(endpoint(1));
    ASSERT_TRUE(table.claim(endpoint(1), now));
    table.connectFailed(endpoint(1), "a", "refused", now);
    seen.push_back(table.backoffOf(endpoint(1)));
    EXPECT_TRUE(table.ejected(endpoint(1), now + seen.back() - 1ms));
    EXPECT_FALSE(table.ejected(endpoint(1), now + seen.back()));
  }
  EXPECT_EQ(seen, (std::vector<Clock::duration>{5s, 10s, 20s, 30s, 30s}));
}

TEST(HealthTable, AFailureInsideTheBackOffNeitherDoublesNorLogsAgain) {
  LogCapture log;
  HealthTable table(settings());
  const auto t0 = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", t0);
  table.connectFailed(endpoint(1), "a", "refused", t0 + 1s);  // started before the ejection
  EXPECT_EQ(table.backoffOf(endpoint(1)), 5s);
  EXPECT_FALSE(table.ejected(endpoint(1), t0 + 5s));
  EXPECT_EQ(log.count("ejected"), 1u) << log.text();
  EXPECT_EQ(log.count("still failing"), 0u) << log.text();
}

TEST(HealthTable, AProbeSuccessReadmitsAndResetsTheBackOff) {
  HealthTable table(settings());
  auto now = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", now);
  now += 5s;
  ASSERT_TRUE(table.claim(endpoint(1), now));
  table.connectFailed(endpoint(1), "a", "refused", now);  // 10s now
  now += 10s;
  ASSERT_TRUE(table.claim(endpoint(1), now));
  table.connectSucceeded(endpoint(1), "a");
  EXPECT_EQ(table.size(), 0u);
  EXPECT_FALSE(table.ejected(endpoint(1), now));
  table.connectFailed(endpoint(1), "a", "refused", now);
  EXPECT_EQ(table.backoffOf(endpoint(1)), 5s);  // starts over
}

TEST(HealthTable, AClaimedProbeThatNeverReportsExpires) {
  HealthTable table(settings(5s, 30s, /*probe_expiry=*/4s));
  const auto t0 = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", t0);
  ASSERT_TRUE(table.claim(endpoint(1), t0 + 5s));  // its connection is then aborted: no report
  EXPECT_TRUE(table.ejected(endpoint(1), t0 + 8s));
  EXPECT_FALSE(table.claim(endpoint(1), t0 + 8s));
  EXPECT_TRUE(table.claim(endpoint(1), t0 + 9s));  // expired: the next connection probes
}

TEST(HealthTable, ZeroBackOffEjectsNothing) {
  LogCapture log;
  HealthTable table(settings(0s));
  const auto now = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", now);
  EXPECT_FALSE(table.ejected(endpoint(1), now));
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(log.count("ejected"), 0u);
}

TEST(HealthTable, LogsOneLinePerEjectionProbeFailureAndReadmission) {
  LogCapture log;
  HealthTable table(settings());
  auto now = Clock::now();
  table.connectFailed(endpoint(1), "a.svc", "Connection refused", now);
  for (int i = 0; i < 100; ++i) (void)table.ejected(endpoint(1), now);  // connections skipping it
  now += 5s;
  ASSERT_TRUE(table.claim(endpoint(1), now));
  table.connectFailed(endpoint(1), "a.svc", "Connection refused", now);
  now += 10s;
  ASSERT_TRUE(table.claim(endpoint(1), now));
  table.connectSucceeded(endpoint(1), "a.svc");
  table.connectSucceeded(endpoint(1), "a.svc");  // healthy already: nothing to say
  EXPECT_EQ(log.lines(),
            (std::vector<std::string>{
                "warning target 127.0.0.1:1 (a.svc) ejected: Connection refused; back-off 5s",
                "warning target 127.0.0.1:1 (a.svc) still failing: Connection refused; next probe "
                "in 10s",
                "info target 127.0.0.1:1 (a.svc) readmitted"}));
}

TEST(HealthTable, SaysFailOpenOncePerEpisodeRearmedByAReadmission) {
  LogCapture log;
  HealthTable table(settings());
  table.connectFailed(endpoint(1), "a", "refused", Clock::now());
  for (int i = 0; i < 10; ++i) table.failingOpen();
  EXPECT_EQ(log.count("every target is ejected: trying them anyway (fail open)"), 1u);
  table.connectSucceeded(endpoint(1), "a");
  table.failingOpen();
  EXPECT_EQ(log.count("fail open"), 2u) << log.text();
}

TEST(HealthTable, ForgetsEndpointsThatLeftTheTargetSet) {
  discovery::TargetBoard board;
  publish(board, {1, 2, 3});
  HealthTable table(settings(), &board);
  const auto now = Clock::now();
  for (const int p : {1, 2, 3}) {
    table.connectFailed(endpoint(static_cast<uint16_t>(p)), "t", "refused", now);
  }
  EXPECT_EQ(table.size(), 3u);
  publish(board, {3});
  table.prune();
  EXPECT_EQ(table.size(), 1u);
  EXPECT_TRUE(table.ejected(endpoint(3), now));
  // Every write prunes too: failures of endpoints that come and go never pile up.
  for (uint16_t p = 100; p < 1100; p = static_cast<uint16_t>(p + 1)) {
    publish(board, {3, p});
    table.connectFailed(endpoint(p), "t", "refused", now);
  }
  EXPECT_LE(table.size(), 2u);
}

TEST(HealthTable, OnlyAPassingCheckReadmitsWhatACheckEjected) {
  LogCapture log;
  HealthTable table(settings());
  const auto now = Clock::now();
  table.checkFailed(endpoint(1), "a", "health check: no greeting within 2s");
  table.checkFailed(endpoint(1), "a", "health check: no greeting within 2s");
  EXPECT_TRUE(table.ejected(endpoint(1), now + 1h));  // no back-off ends it
  EXPECT_FALSE(table.claim(endpoint(1), now + 1h));
  table.connectSucceeded(endpoint(1), "a");  // a fail-open connect: proves nothing
  table.connectFailed(endpoint(1), "a", "refused", now);
  EXPECT_TRUE(table.ejected(endpoint(1), now + 1h));
  table.checkPassed(endpoint(1), "a");
  EXPECT_FALSE(table.ejected(endpoint(1), now));
  EXPECT_EQ(log.count("ejected: health check: no greeting within 2s"), 1u) << log.text();
  EXPECT_EQ(log.count("readmitted"), 1u) << log.text();
}

TEST(HealthTable, APassingCheckReadmitsAPassivelyEjectedEndpoint) {
  HealthTable table(settings());
  const auto now = Clock::now();
  table.connectFailed(endpoint(1), "a", "refused", now);
  table.checkPassed(endpoint(1), "a");
  EXPECT_FALSE(table.ejected(endpoint(1), now));
}

// Many workers failing, probing, succeeding and reading at once (TSan checks the races):
// however they interleave, one failure episode is one ejection line, and exactly one thread
// wins each probe.
TEST(HealthTable, ThreadsAgreeOnOneEjectionAndOneProbeWinner) {
  LogCapture log;
  HealthTable table(settings(5s, 30s, 1h));
  const auto t0 = Clock::now();
  constexpr int kThreads = 8;
  std::atomic<int> probes{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      HealthTable::Reader reader(table);  // a worker's
      while (!go.load()) std::this_thread::yield();
      for (int round = 0; round < 2000; ++round) {
        const auto ep = endpoint(static_cast<uint16_t>(1 + round % 4));
        (void)reader.view().admits(ep, t0);
        table.connectFailed(ep, "t", "refused", t0);
        if (i == 0 && round % 500 == 0) table.failingOpen();
      }
      if (reader.view().claim(endpoint(1), t0 + 5s)) probes.fetch_add(1);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(log.count(") ejected: refused"), 4u) << log.text();  // one per endpoint
  EXPECT_EQ(log.count("fail open"), 1u);
  // Readmissions racing with readers.
  threads.clear();
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      HealthTable::Reader reader(table);
      for (int round = 0; round < 2000; ++round) {
        const auto ep = endpoint(static_cast<uint16_t>(1 + round % 4));
        reader.connectSucceeded(ep, "t");
        (void)reader.view().admits(ep, t0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(log.count("readmitted"), 4u) << log.text();
}

}  // namespace
}  // namespace edge::health
