// --log-format json, --access-log and --log-progress-interval against the real binary: a long
// connection's open, progress and close events carry the same id; every stdout and stderr line
// is one JSON object; --access-log picks the events (off: none).
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class JsonLogs : public EdgeFixture {
 protected:
  // One connection held open `hold` (greeting, one echo at the start), then closed by the client.
  void hold_connection(std::chrono::milliseconds hold) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    client_port_ = client->local_port();
    ASSERT_EQ(client->read_line(kIoTimeout), "echo");
    ASSERT_EQ(client->write_all("ping\n", kIoTimeout), IoResult::ok);
    ASSERT_EQ(client->read_line(kIoTimeout), "ping");
    std::this_thread::sleep_for(hold);
    client->shutdown_write();
    EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);
  }

  // Every line of `lines` parsed; a failure for each one that is not a JSON object.
  static std::vector<json> objects(const std::vector<std::string>& lines, const char* stream) {
    std::vector<json> out;
    for (const auto& line : lines) {
      try {
        auto j = json::parse(line);
        if (j.is_object()) {
          out.push_back(std::move(j));
        } else {
          ADD_FAILURE() << stream << " line is not an object: " << line;
        }
      } catch (const json::exception& e) {
        ADD_FAILURE() << stream << " line is not JSON: " << line << " (" << e.what() << ")";
      }
    }
    return out;
  }

  std::vector<json> access_events() const { return objects(edge_->stdout_lines(), "stdout"); }
  bool has_close(const std::vector<json>& events) const {
    for (const auto& e : events) {
      if (e.value("event", "") == "close") return true;
    }
    return false;
  }

  std::uint16_t client_port_ = 0;
};

TEST_F(JsonLogs, OneConnectionsOpenProgressAndCloseCarryTheSameId) {
  start_with_echo_backend({"--log-format", "json", "--log-progress-interval", "1s"});
  hold_connection(2500ms);
  std::vector<json> events;
  ASSERT_TRUE(run_until(
      [&] {
        events = access_events();
        return has_close(events);
      },
      kIoTimeout))
      << "no close event";

  const std::string client = "127.0.0.1:" + std::to_string(client_port_);
  std::vector<json> open, progress, close;
  for (const auto& e : events) {
    ASSERT_EQ(e.value("client", ""), client) << e.dump();  // the only connection
    const std::string event = e.value("event", "");
    if (event == "open") open.push_back(e);
    if (event == "progress") progress.push_back(e);
    if (event == "close") close.push_back(e);
  }
  ASSERT_EQ(open.size(), 1u);
  ASSERT_EQ(close.size(), 1u);
  ASSERT_GE(progress.size(), 1u);
  EXPECT_LE(progress.size(), 3u);

  const auto id = open[0]["id"];
  ASSERT_TRUE(id.is_string());
  EXPECT_EQ(id.get<std::string>().size(), 16u);
  for (const auto& e : progress) EXPECT_EQ(e["id"], id) << e.dump();
  EXPECT_EQ(close[0]["id"], id);

  // Typed fields.
  EXPECT_EQ(open[0]["route"], "default");
  EXPECT_TRUE(open[0]["target_name"].get<std::string>().starts_with("echo.svc.test"))
      << open[0].dump();
  EXPECT_EQ(open[0]["priority"], 10);
  EXPECT_EQ(open[0]["weight"], 10);
  EXPECT_TRUE(open[0]["connect_ms"].is_number_unsigned());
  EXPECT_EQ(open[0]["attempts"], 1);
  for (const auto& e : progress) {
    EXPECT_GE(e["duration_ms"].get<long long>(), 1000);
    EXPECT_LT(e["duration_ms"].get<long long>(), 2600);
    EXPECT_EQ(e["bytes_to_target"], 5);      // "ping\n"
    EXPECT_EQ(e["bytes_to_client"], 5 + 5);  // "echo\n" + "ping\n"
  }
  EXPECT_EQ(close[0]["close"], "client_closed");
  EXPECT_GE(close[0]["duration_ms"].get<long long>(), 2500);
  EXPECT_EQ(close[0]["bytes_to_target"], 5);
  EXPECT_EQ(close[0]["attempts"], 1);
  EXPECT_TRUE(close[0]["ts"].is_string());

  // The application log is JSON too, from the first line (the configuration) to the last.
  ASSERT_TRUE(signal_edge(SIGTERM));
  ASSERT_EQ(edge().process().wait_exit(kIoTimeout), 0);
  const auto err = objects(edge().stderr_lines(), "stderr");
  ASSERT_FALSE(err.empty());
  bool listening = false, stopped = false;
  for (const auto& o : err) {
    EXPECT_TRUE(o["ts"].is_string()) << o.dump();
    EXPECT_TRUE(o["level"].is_string()) << o.dump();
    ASSERT_TRUE(o["msg"].is_string()) << o.dump();
    listening |= o["msg"].get<std::string>().starts_with("listening on ");
    stopped |= o["msg"] == "stopped";
  }
  EXPECT_TRUE(listening);
  EXPECT_TRUE(stopped);
  objects(edge().stdout_lines(), "stdout");  // still all JSON after the drain
}

TEST_F(JsonLogs, TextEventsCarryTheIdToo) {
  start_with_echo_backend();  // text, every event, progress every 10 min
  EXPECT_EQ(greeting_through_edge(), "echo");
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto events = edge().access_events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].get("event"), "open");
  EXPECT_EQ(events[1].get("event"), "close");
  EXPECT_EQ(events[0].get("id").size(), 16u);
  EXPECT_EQ(events[0].get("id"), events[1].get("id"));
  EXPECT_EQ(events[0].get("priority"), "10");
  EXPECT_EQ(events[1].get("close"), "client_closed");
}

TEST_F(JsonLogs, AccessLogCloseWritesOnlyCloseEvents) {
  start_with_echo_backend({"--access-log", "close", "--log-progress-interval", "1s"});
  hold_connection(1500ms);
  EXPECT_EQ(greeting_through_edge(), "echo");
  ASSERT_TRUE(edge().wait_access_log(2, kIoTimeout));
  std::this_thread::sleep_for(300ms);  // anything else would have been flushed by now
  const auto events = edge().access_events();
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) EXPECT_EQ(e.get("event"), "close");
  EXPECT_NE(events[0].get("id"), events[1].get("id"));
}

TEST_F(JsonLogs, AccessLogOffWritesNothing) {
  start_with_echo_backend(
      {"--access-log", "off", "--log-progress-interval", "1s", "--log-format", "json"});
  hold_connection(1300ms);
  EXPECT_EQ(greeting_through_edge(), "echo");
  std::this_thread::sleep_for(500ms);  // five flush intervals
  EXPECT_TRUE(edge().stdout_lines().empty());
  objects(edge().stderr_lines(), "stderr");
}

}  // namespace
}  // namespace edge::test
