// The Prometheus text exposition: hostile label values are escaped (they come from configuration
// and DNS), a metric missing from the catalog is refused, histograms are cumulative with +Inf
// equal to _count, and every catalog entry gets its HELP and TYPE lines, in catalog order.
#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "metrics/catalog.h"
#include "metrics/counter.h"

namespace edge::metrics {
namespace {

std::vector<std::string> linesStartingWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(prefix)) out.push_back(line);
  }
  return out;
}

TEST(EscapeLabel, EscapesBackslashQuoteAndNewlineOnly) {
  EXPECT_EQ(escapeLabel("plain-name_1.svc:443"), "plain-name_1.svc:443");
  EXPECT_EQ(escapeLabel("a\"b"), "a\\\"b");
  EXPECT_EQ(escapeLabel("a\\b"), "a\\\\b");
  EXPECT_EQ(escapeLabel("a\nb"), "a\\nb");
  EXPECT_EQ(escapeLabel("\\\"\n"), "\\\\\\\"\\n");
  EXPECT_EQ(escapeLabel(""), "");
  EXPECT_EQ(escapeLabel("tab\there\r"), "tab\there\r");  // the format escapes only three
  EXPECT_EQ(escapeLabel("h\xc3\xa9"), "h\xc3\xa9");      // UTF-8 passes as is
}

TEST(Exposition, HostileLabelValuesStayOnOneLineAndInsideTheirQuotes) {
  Exposition out;
  const std::string hostile = "evil\"} 1\nedge_build_info{version=\"x\\";
  out.add("edge_connections_accepted_total", {{"route", hostile}}, uint64_t{7});
  const auto samples = linesStartingWith(out.text(), "edge_connections_accepted_total");
  ASSERT_EQ(samples.size(), 1u) << out.text();
  EXPECT_EQ(samples[0],
            "edge_connections_accepted_total{route=\"evil\\\"} 1\\nedge_build_info{version=\\\"x"
            "\\\\\"} 7");
  // Nothing leaked out as a sample of another metric.
  EXPECT_TRUE(linesStartingWith(out.text(), "edge_build_info{").empty()) << out.text();
}

TEST(Exposition, SeveralLabelsAndNoLabels) {
  Exposition out;
  out.add("edge_connect_failures_total",
          {{"route", "r"}, {"target", "[::1]:80"}, {"reason", "refused"}}, uint64_t{3});
  out.add("edge_access_log_dropped_total", {}, uint64_t{0});
  out.add("edge_dns_last_success_timestamp_seconds", {{"route", "r"}}, 1.5);
  const auto text = out.text();
  EXPECT_NE(
      text.find(
          "\nedge_connect_failures_total{route=\"r\",target=\"[::1]:80\",reason=\"refused\"} 3\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("\nedge_access_log_dropped_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nedge_dns_last_success_timestamp_seconds{route=\"r\"} 1.5\n"),
            std::string::npos)
      << text;
}

TEST(Exposition, ANameNotInTheCatalogThrows) {
  Exposition out;
  EXPECT_THROW(out.add("edge_made_up_total", {}, uint64_t{1}), std::logic_error);
  EXPECT_THROW(out.add("edge_connections_accepted", {{"route", "r"}}, 1.0), std::logic_error);
  const double bounds[] = {1.0};
  const uint64_t buckets[] = {0, 0};
  EXPECT_THROW(out.histogram("edge_nope_seconds", {}, bounds, buckets, 0.0), std::logic_error);
  EXPECT_EQ(out.text().find("edge_made_up"), std::string::npos);
}

TEST(Exposition, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  Exposition out;
  const double bounds[] = {0.001, 0.01, 0.1};
  const uint64_t buckets[] = {2, 0, 3, 4};  // per bucket; the last is +Inf's own
  out.histogram("edge_connect_duration_seconds", {{"route", "r"}}, bounds, buckets, 12.25);
  const auto lines = linesStartingWith(out.text(), "edge_connect_duration_seconds_");
  const std::vector<std::string> expected = {
      "edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.001\"} 2",
      "edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.01\"} 2",
      "edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.1\"} 5",
      "edge_connect_duration_seconds_bucket{route=\"r\",le=\"+Inf\"} 9",
      "edge_connect_duration_seconds_sum{route=\"r\"} 12.25",
      "edge_connect_duration_seconds_count{route=\"r\"} 9",
  };
  EXPECT_EQ(lines, expected) << out.text();
}

TEST(Exposition, AnEmptyHistogramHasZerosEverywhere) {
  Exposition out;
  const uint64_t buckets[std::size(kDurationBounds) + 1] = {};
  out.histogram("edge_connection_duration_seconds", {{"route", "r"}}, kDurationBounds, buckets, 0);
  const auto lines = linesStartingWith(out.text(), "edge_connection_duration_seconds_");
  ASSERT_EQ(lines.size(), std::size(kDurationBounds) + 3);
  for (const auto& line : lines) EXPECT_TRUE(line.ends_with(" 0")) << line;
  EXPECT_EQ(lines[std::size(kDurationBounds) - 1],
            "edge_connection_duration_seconds_bucket{route=\"r\",le=\"604800\"} 0");
}

TEST(Exposition, RecordedHistogramMatchesItsObservations) {
  Histogram h(kConnectBounds);
  h.observe(std::chrono::microseconds(50));        // <= 0.0001
  h.observe(std::chrono::microseconds(100));       // == 0.0001: in that bucket (le is <=)
  h.observe(std::chrono::microseconds(3000));      // <= 0.005
  h.observe(std::chrono::microseconds(20000000));  // > 10: +Inf
  std::vector<uint64_t> buckets;
  for (size_t i = 0; i <= h.bounds().size(); ++i) buckets.push_back(h.bucket(i));
  Exposition out;
  out.histogram("edge_connect_duration_seconds", {{"route", "r"}}, h.bounds(), buckets,
                static_cast<double>(h.sumMicros()) / 1e6);
  const auto text = out.text();
  for (const char* line : {"edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.0001\"} 2\n",
                           "edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.0025\"} 2\n",
                           "edge_connect_duration_seconds_bucket{route=\"r\",le=\"0.005\"} 3\n",
                           "edge_connect_duration_seconds_bucket{route=\"r\",le=\"10\"} 3\n",
                           "edge_connect_duration_seconds_bucket{route=\"r\",le=\"+Inf\"} 4\n",
                           "edge_connect_duration_seconds_sum{route=\"r\"} 20.00315\n",
                           "edge_connect_duration_seconds_count{route=\"r\"} 4\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "in\n" << text;
  }
}

TEST(Exposition, EveryCatalogEntryHasHelpAndTypeInCatalogOrder) {
  const auto text = Exposition().text();
  const auto help = linesStartingWith(text, "# HELP ");
  const auto type = linesStartingWith(text, "# TYPE ");
  const auto specs = catalog();
  ASSERT_EQ(help.size(), specs.size());
  ASSERT_EQ(type.size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_TRUE(help[i].starts_with("# HELP " + std::string(specs[i].name) + " ")) << help[i];
    EXPECT_EQ(type[i], "# TYPE " + std::string(specs[i].name) + " " + toString(specs[i].type));
    EXPECT_EQ(findMetric(specs[i].name), &specs[i]);
    // Counter names end in _total (the exposition convention promtool checks).
    EXPECT_EQ(specs[i].name.ends_with("_total"), specs[i].type == Type::Counter) << specs[i].name;
  }
  EXPECT_EQ(findMetric("edge_nope"), nullptr);
}

}  // namespace
}  // namespace edge::metrics
