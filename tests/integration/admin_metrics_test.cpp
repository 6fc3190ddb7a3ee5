// GET /metrics of the real binary after real traffic: the scrape passes promtool and Python's
// prometheus_client parser; ten 1 MiB-each-way transfers over two workers are counted exactly
// (connections, bytes, closes, targets, both histograms); a refusing target's connect failures
// and ejection, a --max-connections refusal, and POST /reload results are counted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "admin_fixture.h"
#include "free_port.h"
#include "prometheus_text.h"
#include "run_until.h"
#include "transfer.h"

namespace edge::test {
namespace {

constexpr std::uint64_t kMiB = 1048576;
constexpr int kTransfers = 10;
constexpr double kTotalBytes = static_cast<double>(kTransfers * kMiB);

class AdminMetrics : public AdminFixture {
 protected:
  std::string scrape_text() {
    const auto r = get("/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    return r.body;
  }
  std::vector<MetricSample> scrape() { return parse_metrics(scrape_text()); }

  // A source_sink backend (1 MiB down per connection) behind the daemon with two workers, and
  // kTransfers connections that each send 1 MiB up and read 1 MiB down, all closed and counted.
  void ten_transfers_over_two_workers() {
    Backend& backend = add_backend(
        {.id = "sink", .mode = BackendMode::source_sink, .source_bytes = kMiB, .source_seed = 7});
    DnsRecords records;
    add_srv(records, backend);
    start_dns(records);
    start_edge({"--workers", "2", "--admin", "127.0.0.1:0"});
    for (int i = 0; i < kTransfers; ++i) {
      auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
      ASSERT_TRUE(client) << "connection " << i;
      const auto result = run_transfer(client->fd(), kMiB, 100 + i, Until::in(20s));
      ASSERT_EQ(result.sent, kMiB) << "connection " << i;
      ASSERT_EQ(result.received, kMiB) << "connection " << i;
      ASSERT_EQ(result.receive_end, IoResult::eof) << "connection " << i;
    }  // each client closes here
    ASSERT_TRUE(backend.wait_reports(kTransfers, 10s));
    for (const auto& report : backend.reports()) EXPECT_EQ(report.bytes_received, kMiB);
    // A session's close is counted when it ends, just after the client saw EOF.
    std::vector<MetricSample> s;
    ASSERT_TRUE(run_until(
        [&] {
          s = scrape();
          return metric_sum(s, "edge_connections_closed_total") == kTransfers &&
                 metric_sum(s, "edge_connections_active") == 0;
        },
        10s, 100ms))
        << "closed " << metric_sum(s, "edge_connections_closed_total") << ", active "
        << metric_sum(s, "edge_connections_active");
  }
};

TEST_F(AdminMetrics, TenTransfersOfOneMiBEachWayAreCountedExactly) {
  ASSERT_NO_FATAL_FAILURE(ten_transfers_over_two_workers());
  const auto text = scrape_text();
  const auto s = parse_metrics(text);
  for (const auto& sample : s) EXPECT_FALSE(sample.name.starts_with("<unparsed")) << sample.name;
  const std::map<std::string, std::string> route = {{"route", "default"}};

  EXPECT_EQ(metric_count(s, "edge_connections_accepted_total", route), 1u) << text;
  EXPECT_EQ(metric_sum(s, "edge_connections_accepted_total", route), kTransfers);
  EXPECT_EQ(metric_sum(s, "edge_bytes_to_target_total", route), kTotalBytes);
  EXPECT_EQ(metric_sum(s, "edge_bytes_to_client_total", route), kTotalBytes);
  EXPECT_EQ(metric_count(s, "edge_connections_active", route), 1u);
  EXPECT_EQ(metric_sum(s, "edge_connections_active", route), 0);
  EXPECT_EQ(metric_sum(s, "edge_connections_closed_total", route), kTransfers);
  // Both sides end their half (the backend after its 1 MiB, the client after its own): the
  // reason says which came last, so either, but nothing else.
  EXPECT_EQ(metric_sum(s, "edge_connections_closed_total",
                       {{"route", "default"}, {"reason", "client_closed"}}) +
                metric_sum(s, "edge_connections_closed_total",
                           {{"route", "default"}, {"reason", "target_closed"}}),
            kTransfers)
      << text;
  // The access log's ids start with the worker's index: how the workers shared the load.
  std::map<std::string, int> per_worker;
  for (const auto& record : edge().access_log()) ++per_worker[record.get("id").substr(0, 4)];
  std::cout << "connections per worker: " << describe(per_worker) << "\n";
  EXPECT_EQ(metric_sum(s, "edge_target_connections_total", route), kTransfers);
  EXPECT_EQ(metric_sum(s, "edge_target_connections_active", route), 0);
  EXPECT_EQ(metric_sum(s, "edge_connect_attempts_total", route), kTransfers);
  EXPECT_EQ(metric_sum(s, "edge_connect_failures_total", route), 0);
  EXPECT_EQ(metric_sum(s, "edge_connection_duration_seconds_count", route), kTransfers);
  EXPECT_EQ(metric_sum(s, "edge_connect_duration_seconds_count", route), kTransfers);
  EXPECT_EQ(metric_sum(s, "edge_connection_duration_seconds_bucket",
                       {{"route", "default"}, {"le", "+Inf"}}),
            kTransfers);
  EXPECT_EQ(
      metric_sum(s, "edge_connect_duration_seconds_bucket", {{"route", "default"}, {"le", "+Inf"}}),
      kTransfers);
  EXPECT_GT(metric_sum(s, "edge_connection_duration_seconds_sum", route), 0);
  EXPECT_EQ(metric_sum(s, "edge_targets", route), 1);
  EXPECT_EQ(metric_sum(s, "edge_build_info"), 1);
  EXPECT_GE(metric_sum(s, "edge_dns_lookups_total", {{"route", "default"}, {"result", "ok"}}), 1);
  EXPECT_GT(metric_sum(s, "edge_dns_last_success_timestamp_seconds", route), 1.7e9);
}

TEST_F(AdminMetrics, ScrapeAfterTrafficPassesPromtool) {
  if (!have_program("promtool")) GTEST_SKIP() << "promtool not installed";
  ASSERT_NO_FATAL_FAILURE(ten_transfers_over_two_workers());
  const auto text = scrape_text();
  // Histograms and per-target series are there to be checked.
  ASSERT_NE(text.find("edge_connect_duration_seconds_bucket{route=\"default\",le=\"+Inf\"} 10"),
            std::string::npos)
      << text;
  ASSERT_NE(text.find("edge_target_connections_total{route=\"default\",target=\"127.0.0.1:"),
            std::string::npos)
      << text;
  const auto run = run_with_stdin({"promtool", "check", "metrics"}, text);
  ASSERT_TRUE(run.status) << "promtool did not finish";
  std::string said;
  for (const auto& line : run.out) said += line + "\n";
  for (const auto& line : run.err) said += line + "\n";
  EXPECT_EQ(*run.status, 0) << said;
  // Lint findings (not only errors) are printed; the exposition should have none.
  EXPECT_EQ(said, "") << said;
}

TEST_F(AdminMetrics, ScrapeAfterTrafficParsesWithPythonPrometheusClient) {
  // The first Python that has the module: a pyenv python3 on PATH may lack Debian's package.
  std::string python;
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    if (have_program(candidate) &&
        run_with_stdin({candidate, "-c", "import prometheus_client.parser"}, "").status == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty())
    GTEST_SKIP() << "no python3 with prometheus_client (python3-prometheus-client)";
  ASSERT_NO_FATAL_FAILURE(ten_transfers_over_two_workers());
  const std::string script = R"(
import sys
from prometheus_client.parser import text_string_to_metric_families as p
fams = {f.name: f for f in p(sys.stdin.read())}
def total(family, sample):
    return sum(s.value for s in fams[family].samples if s.name == sample)
print("families", len(fams))
print("accepted", int(total("edge_connections_accepted", "edge_connections_accepted_total")))
print("to_target", int(total("edge_bytes_to_target", "edge_bytes_to_target_total")))
print("connect", fams["edge_connect_duration_seconds"].type,
      int(total("edge_connect_duration_seconds", "edge_connect_duration_seconds_count")))
print("duration", fams["edge_connection_duration_seconds"].type,
      int(total("edge_connection_duration_seconds", "edge_connection_duration_seconds_count")))
)";
  const auto run = run_with_stdin({python, "-c", script}, scrape_text());
  ASSERT_TRUE(run.status);
  std::string err;
  for (const auto& line : run.err) err += line + "\n";
  ASSERT_EQ(*run.status, 0) << err;
  ASSERT_EQ(run.out.size(), 5u) << err;
  // Every catalog entry is a family (HELP and TYPE are written even without samples).
  EXPECT_EQ(run.out[0], "families 21");
  EXPECT_EQ(run.out[1], "accepted 10");
  EXPECT_EQ(run.out[2], "to_target " + std::to_string(kTransfers * kMiB));
  EXPECT_EQ(run.out[3], "connect histogram 10");
  EXPECT_EQ(run.out[4], "duration histogram 10");
}

TEST_F(AdminMetrics, ARefusingTargetCountsFailuresAndAnEjection) {
  const auto refusing = refusing_port();
  start_dns(single_target(refusing));
  start_edge({"--refused-backoff", "1h", "--eject-max", "1h", "--admin", "127.0.0.1:0"});
  const std::string target = "127.0.0.1:" + std::to_string(refusing);

  EXPECT_EQ(greeting_through_edge(), "<no greeting>");  // accepted, then closed: nothing to reach
  std::vector<MetricSample> s;
  ASSERT_TRUE(run_until(
      [&] {
        s = scrape();
        return metric_sum(s, "edge_connections_closed_total") == 1;
      },
      5s, 100ms));
  const std::map<std::string, std::string> refused = {
      {"route", "default"}, {"target", target}, {"reason", "refused"}};
  EXPECT_GT(metric_sum(s, "edge_connect_failures_total", refused), 0);
  EXPECT_EQ(metric_sum(s, "edge_connect_failures_total", refused),
            metric_sum(s, "edge_connect_attempts_total", {{"route", "default"}}));
  EXPECT_EQ(
      metric_sum(s, "edge_connect_failures_total", {{"route", "default"}, {"reason", "timeout"}}),
      0);
  EXPECT_EQ(
      metric_sum(s, "edge_target_ejections_total", {{"route", "default"}, {"target", target}}), 1);
  EXPECT_EQ(metric_sum(s, "edge_target_connections_total"), 0);
  EXPECT_EQ(metric_sum(s, "edge_connect_duration_seconds_count"), 0);  // never connected
  EXPECT_EQ(metric_sum(s, "edge_connection_duration_seconds_count"), 1);
  EXPECT_EQ(metric_sum(s, "edge_connections_closed_total", {{"reason", "connect_failed"}}), 1)
      << scrape_text();

  // The only target is ejected (for an hour): not ready, and /ready says why.
  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 503;
      },
      5s, 100ms));
  EXPECT_EQ(ready.body,
            "not ready: route default: every target is ejected or failing health checks\n");
}

TEST_F(AdminMetrics, FailingHealthChecksAreCountedAndMakeTheProcessNotReady) {
  // No client at all: the checker alone finds the only target dead.
  const auto refusing = refusing_port();
  start_dns(single_target(refusing));
  start_edge({"--health-check-interval", "100ms", "--admin", "127.0.0.1:0"});
  const std::string target = "127.0.0.1:" + std::to_string(refusing);

  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 503;
      },
      5s, 100ms))
      << ready.status << " " << ready.body;
  EXPECT_EQ(ready.body,
            "not ready: route default: every target is ejected or failing health checks\n");
  std::vector<MetricSample> s;
  EXPECT_TRUE(run_until(
      [&] {
        s = scrape();
        return metric_sum(s, "edge_health_checks_total",
                          {{"route", "default"}, {"target", target}, {"result", "failed"}}) >= 2;
      },
      5s, 100ms));
  EXPECT_EQ(metric_sum(s, "edge_health_checks_total", {{"result", "passed"}}), 0);
  EXPECT_GE(
      metric_sum(s, "edge_target_ejections_total", {{"route", "default"}, {"target", target}}), 1);
  EXPECT_EQ(metric_sum(s, "edge_connections_accepted_total"), 0);
}

TEST_F(AdminMetrics, AMaxConnectionsRefusalIsCountedOnce) {
  start_with_echo_backend({"--max-connections", "1", "--admin", "127.0.0.1:0"});
  auto held = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(held);
  ASSERT_EQ(held->read_line(kIoTimeout).value_or("<none>"), "echo");

  auto refused = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(refused);  // accepted, then closed at once
  EXPECT_NE(refused->wait_closed(kIoTimeout), IoResult::timeout);

  std::vector<MetricSample> s;
  const std::map<std::string, std::string> limit = {{"route", "default"},
                                                    {"limit", "max_connections"}};
  ASSERT_TRUE(run_until(
      [&] {
        s = scrape();
        return metric_sum(s, "edge_limit_refusals_total", limit) >= 1;
      },
      5s, 100ms));
  EXPECT_EQ(metric_sum(s, "edge_limit_refusals_total", limit), 1);
  EXPECT_EQ(metric_sum(s, "edge_limit_refusals_total"), 1);
  EXPECT_EQ(metric_sum(s, "edge_connections_accepted_total"), 2);
  EXPECT_EQ(metric_sum(s, "edge_connections_active"), 1);
  EXPECT_EQ(metric_sum(s, "edge_connections_closed_total", {{"reason", "limit"}}), 1);
  EXPECT_EQ(metric_sum(s, "edge_connections_closed_total"), 1);
}

TEST_F(AdminMetrics, ReloadsAreCountedByResult) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto p1 = free_port();
  const std::string head = "dns_servers = [\"" + dns().address() +
                           "\"]\nmin_refresh = \"1s\"\nmax_refresh = \"2s\"\n"
                           "workers = 1\nadmin = \"127.0.0.1:0\"\n\n";
  write_file(head + route("first", p1, kService));
  start_on_file();
  auto s = scrape();
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "ok"}}), 0);
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "failed"}}), 0);
  EXPECT_EQ(metric_count(s, "edge_reloads_total"), 2u);  // both series from the start

  write_file(head + route("first", p1, kService) + route("second", free_port(), kService));
  EXPECT_EQ(post("/reload").status, 200);
  s = scrape();
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "failed"}}), 0);

  write_file(head + "[[route]\nname = ");  // not TOML
  EXPECT_EQ(post("/reload").status, 500);
  s = scrape();
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "ok"}}), 1);
  EXPECT_EQ(metric_sum(s, "edge_reloads_total", {{"result", "failed"}}), 1);
  EXPECT_EQ(greeting(p1), "b1");  // still serving the running configuration
}

}  // namespace
}  // namespace edge::test
