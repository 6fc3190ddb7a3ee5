// The access-log line: exact text for a fixed, UTC time point; the JSON form parses, with typed
// fields; which events a shard writes.
#include "log/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "logfmt.h"

namespace edge::log {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

net::Endpoint ep(const char* ip, uint16_t port) {
  return net::Endpoint(asio::ip::make_address(ip), port);
}

// 2024-03-05T06:07:08.009Z (plus 999µs that must not show).
const system_clock::time_point kEnd =
    sys_days{year{2024} / March / 5} + 6h + 7min + 8s + 9ms + 999us;

TEST(AccessLogTest, FormatAccess) {
  struct Case {
    std::string what;
    AccessRecord record;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"forwarded",
       {kEnd, ep("192.0.2.10", 54321), ep("10.0.0.1", 2222), "node1.example.internal", 123, 4567,
        1500ms, proxy::CloseReason::TargetClosed, 1, "", "sftp"},
       "ts=2024-03-05T06:07:08.009Z event=close id=0000000000000000 route=sftp "
       "client=192.0.2.10:54321 target=10.0.0.1:2222 "
       "target_name=node1.example.internal bytes_to_target=123 bytes_to_client=4567 "
       "duration_ms=1500 close=target_closed attempts=1"},
      {"no target",
       {kEnd, ep("192.0.2.10", 1), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::NoTargets, 0,
        "", ""},
       "ts=2024-03-05T06:07:08.009Z event=close id=0000000000000000 route=- client=192.0.2.10:1 "
       "target=- target_name=- "
       "bytes_to_target=0 bytes_to_client=0 duration_ms=0 close=no_targets attempts=0"},
      {"ipv6 client and target",
       {kEnd, ep("::1", 5), ep("fd00::2", 22), "n2", 1, 2, 42ms, proxy::CloseReason::ClientReset, 2,
        "", ""},
       "ts=2024-03-05T06:07:08.009Z event=close id=0000000000000000 route=- client=[::1]:5 "
       "target=[fd00::2]:22 target_name=n2 "
       "bytes_to_target=1 bytes_to_client=2 duration_ms=42 close=client_reset attempts=2"},
      {"error suffix",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 5s, proxy::CloseReason::ConnectFailed, 3,
        "connect timeout", ""},
       "ts=2024-03-05T06:07:08.009Z event=close id=0000000000000000 route=- client=[::1]:5 "
       "target=- target_name=- "
       "bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=5000 close=connect_failed attempts=3 "
       "error=\"connect timeout\""},
      {"error with quote, backslash and newline",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::ConnectFailed, 1,
        "bad \"x\\y\"\n", ""},
       "ts=2024-03-05T06:07:08.009Z event=close id=0000000000000000 route=- client=[::1]:5 "
       "target=- target_name=- "
       "bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=0 close=connect_failed attempts=1 "
       "error=\"bad \\\"x\\\\y\\\"\""},
      {"epoch, large counters",
       {system_clock::time_point{}, ep("127.0.0.1", 65535), ep("127.0.0.1", 1), "x",
        18446744073709551615ull, 1ull << 40, 86400s, proxy::CloseReason::Shutdown, 1, "", ""},
       "ts=1970-01-01T00:00:00.000Z event=close id=0000000000000000 route=- client=127.0.0.1:65535 "
       "target=127.0.0.1:1 "
       "target_name=x "
       "bytes_to_target=18446744073709551615 bytes_to_client=1099511627776 duration_ms=86400000 "
       "close=shutdown attempts=1"},
  };
  for (const auto& c : cases) EXPECT_EQ(formatAccess(c.record), c.want) << c.what;
}

AccessRecord openRecord() {
  AccessRecord r;
  r.ts = kEnd;
  r.event = AccessEvent::Open;
  r.id = (uint64_t{1} << 48) | 0x2a;
  r.route = "sftp";
  r.client = ep("192.0.2.10", 54321);
  r.target = ep("10.0.0.1", 2222);
  r.target_name = "node1.example.internal";
  r.priority = 10;
  r.weight = 60;
  r.connect_time = 2750us;
  r.attempts = 2;
  return r;
}

TEST(AccessLogTest, OpenAndProgressEvents) {
  auto open = openRecord();
  EXPECT_EQ(formatAccess(open),
            "ts=2024-03-05T06:07:08.009Z event=open id=000100000000002a route=sftp "
            "client=192.0.2.10:54321 target=10.0.0.1:2222 target_name=node1.example.internal "
            "priority=10 weight=60 connect_ms=2 attempts=2");
  open.priority.reset();  // A/AAAA discovery: no SRV priority or weight
  open.weight.reset();
  EXPECT_EQ(formatAccess(open),
            "ts=2024-03-05T06:07:08.009Z event=open id=000100000000002a route=sftp "
            "client=192.0.2.10:54321 target=10.0.0.1:2222 target_name=node1.example.internal "
            "connect_ms=2 attempts=2");

  auto progress = openRecord();
  progress.event = AccessEvent::Progress;
  progress.bytes_to_target = 1234;
  progress.bytes_to_client = 56789;
  progress.duration = 600s;
  EXPECT_EQ(formatAccess(progress),
            "ts=2024-03-05T06:07:08.009Z event=progress id=000100000000002a route=sftp "
            "client=192.0.2.10:54321 target=10.0.0.1:2222 target_name=node1.example.internal "
            "bytes_to_target=1234 bytes_to_client=56789 duration_ms=600000");
}

// Text values that would break a logfmt line (spaces, quotes, '=', control bytes) are quoted.
TEST(AccessLogTest, TextQuotesValuesThatWouldBreakTheLine) {
  auto r = openRecord();
  r.event = AccessEvent::Close;
  r.route = "a b";
  r.target_name = "x=\"y\"\n z";
  r.error = "bad\tthing";
  const auto line = formatAccess(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto parsed = test::LogfmtRecord::parse(line);
  EXPECT_EQ(parsed.get("route"), "a b");
  EXPECT_EQ(parsed.get("target_name"), "x=\"y\" z");
  EXPECT_EQ(parsed.get("error"), "badthing");
  EXPECT_EQ(parsed.get("close"), "open");
  EXPECT_EQ(parsed.get("id"), "000100000000002a");
}

TEST(AccessLogTest, JsonEventsAreOneObjectWithTypedFields) {
  using nlohmann::json;
  auto open = openRecord();
  const auto o = json::parse(formatAccess(open, config::LogFormat::Json));
  EXPECT_EQ(o, json::parse(R"({"ts":"2024-03-05T06:07:08.009Z","event":"open",
      "id":"000100000000002a","route":"sftp","client":"192.0.2.10:54321",
      "target":"10.0.0.1:2222","target_name":"node1.example.internal","priority":10,
      "weight":60,"connect_ms":2,"attempts":2})"));

  auto progress = openRecord();
  progress.event = AccessEvent::Progress;
  progress.bytes_to_target = 18446744073709551615ull;
  progress.bytes_to_client = 7;
  progress.duration = 1500ms;
  const auto p = json::parse(formatAccess(progress, config::LogFormat::Json));
  EXPECT_EQ(p["event"], "progress");
  EXPECT_EQ(p["bytes_to_target"].get<uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(p["bytes_to_client"], 7);
  EXPECT_EQ(p["duration_ms"], 1500);
  EXPECT_FALSE(p.contains("close"));

  AccessRecord failed;  // never reached a target: nulls, and the error
  failed.ts = kEnd;
  failed.client = ep("::1", 5);
  failed.reason = proxy::CloseReason::ConnectFailed;
  failed.attempts = 3;
  failed.error = "connect timeout";
  failed.id = 9;
  const auto line = formatAccess(failed, config::LogFormat::Json);
  EXPECT_EQ(json::parse(line), json::parse(R"({"ts":"2024-03-05T06:07:08.009Z","event":"close",
      "id":"0000000000000009","route":null,"client":"[::1]:5","target":null,"target_name":null,
      "bytes_to_target":0,"bytes_to_client":0,"duration_ms":0,"close":"connect_failed",
      "attempts":3,"error":"connect timeout"})"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

// Whatever bytes a target name, route or error holds, the line is one valid JSON object that
// keeps every valid character.
TEST(AccessLogTest, JsonSurvivesHostileStrings) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::vector<std::string> hostile = {every_byte,
                                            "\"quoted\"",
                                            "back\\slash",
                                            "\xff\xfe",
                                            "\xc3",
                                            "\xed\xa0\x80",
                                            "line\nbreak\r\n",
                                            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                            std::string(1, '\0'),
                                            "}{\"x\":1"};
  for (const auto& s : hostile) {
    for (auto event : {AccessEvent::Open, AccessEvent::Progress, AccessEvent::Close}) {
      auto r = openRecord();
      r.event = event;
      r.route = s;
      r.target_name = s;
      r.error = s;
      const auto line = formatAccess(r, config::LogFormat::Json);
      EXPECT_EQ(line.find('\n'), std::string::npos);
      nlohmann::json parsed;
      ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
      ASSERT_TRUE(parsed.is_object());
      EXPECT_TRUE(parsed["route"].is_string());
      if (s == "\"quoted\"" || s == "back\\slash" || s.find("caf") == 0) {
        EXPECT_EQ(parsed["target_name"], s);  // valid UTF-8 round-trips exactly
      }
    }
  }
}

TEST(AccessLogTest, SettingsChooseTheEvents) {
  config::Config config;
  auto all = AccessLogSettings::from(config);
  EXPECT_TRUE(all.wants(AccessEvent::Open));
  EXPECT_TRUE(all.wants(AccessEvent::Progress));
  EXPECT_TRUE(all.wants(AccessEvent::Close));
  EXPECT_EQ(all.progress_interval, 10min);
  config.access_log = {.open = false, .progress = true, .close = true};
  config.log_progress_interval.reset();  // progress off
  config.log_format = config::LogFormat::Json;
  auto some = AccessLogSettings::from(config);
  EXPECT_FALSE(some.wants(AccessEvent::Open));
  EXPECT_FALSE(some.wants(AccessEvent::Progress));
  EXPECT_TRUE(some.wants(AccessEvent::Close));
  EXPECT_EQ(some.format, config::LogFormat::Json);
}

// The buffered writer, through a real pipe standing in for stdout.
class AccessLogWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_end_ = fds[0];
    write_end_ = fds[1];
    ::fcntl(read_end_, F_SETPIPE_SZ, 1 << 20);
  }
  void TearDown() override {
    ::close(read_end_);
    ::close(write_end_);
  }

  // What arrived within `wait` (non-blocking reads until then).
  std::string drain(milliseconds wait) {
    std::string out;
    char buf[65536];
    const auto deadline = steady_clock::now() + wait;
    ::fcntl(read_end_, F_SETFL, O_NONBLOCK);
    while (steady_clock::now() < deadline) {
      const ssize_t n = ::read(read_end_, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else {
        std::this_thread::sleep_for(5ms);
      }
    }
    return out;
  }

  static AccessRecord record(uint16_t client_port) {
    return {kEnd,
            ep("192.0.2.10", client_port),
            ep("10.0.0.1", 22),
            "n1",
            1,
            2,
            3ms,
            proxy::CloseReason::ClientClosed,
            1,
            "",
            ""};
  }

  int read_end_ = -1;
  int write_end_ = -1;
};

TEST_F(AccessLogWriter, EveryShardsLinesArriveWholeWithinTheInterval) {
  AccessLog log(2, {}, write_end_, 20ms);
  log.shard(0).write(record(1));
  log.shard(1).write(record(2));
  log.shard(0).write(record(3));
  const auto out = drain(300ms);
  EXPECT_NE(out.find(formatAccess(record(1)) + "\n" + formatAccess(record(3)) + "\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(formatAccess(record(2)) + "\n"), std::string::npos) << out;
}

TEST_F(AccessLogWriter, AShardWritesOnlyTheEventsAskedFor) {
  AccessLogSettings settings;
  settings.events = {.open = false, .progress = true, .close = true};
  settings.format = config::LogFormat::Json;
  {
    AccessLog log(1, settings, write_end_, std::chrono::hours(1));
    auto open = record(1);
    open.event = AccessEvent::Open;
    EXPECT_FALSE(log.shard(0).wants(AccessEvent::Open));
    log.shard(0).write(open);  // dropped: not asked for
    log.shard(0).write(record(2));
  }
  const auto out = drain(50ms);
  EXPECT_EQ(out, formatAccess(record(2), config::LogFormat::Json) + "\n");
  EXPECT_EQ(nlohmann::json::parse(out)["client"], "192.0.2.10:2");

  settings.events = {.open = false, .progress = false, .close = false};  // --access-log off
  {
    AccessLog log(2, settings, write_end_, std::chrono::hours(1));
    log.shard(1).write(record(3));
  }
  EXPECT_EQ(drain(50ms), "");
}

TEST_F(AccessLogWriter, StoppingWritesWhatIsStillBuffered) {
  {
    AccessLog log(1, {}, write_end_, std::chrono::hours(1));  // would never flush on its own
    log.shard(0).write(record(7));
  }
  EXPECT_EQ(drain(50ms), formatAccess(record(7)) + "\n");
}

TEST_F(AccessLogWriter, ABlockedOutputDropsLinesInsteadOfGrowing) {
  auto log = std::make_unique<AccessLog>(1, AccessLogSettings{}, write_end_, std::chrono::hours(1));
  const size_t line = formatAccess(record(1)).size() + 1;
  const size_t fits = (AccessLog::kShardLimit + line - 1) / line;
  for (size_t i = 0; i < fits + 100; ++i) log->shard(0).write(record(1));
  EXPECT_EQ(log->dropped(), 100u);  // counted at once, for the metric
  // The shard stopped at its limit; the 100 extra lines were dropped. (The pipe holds 1 MiB:
  // the final flush blocks until it is read, so read it in a thread.)
  std::string out;
  std::thread reader([&] { out = drain(2s); });
  log.reset();
  reader.join();
  EXPECT_EQ(out.size(), fits * line);
}

// Stdout a pipe nobody reads: shutdown must still end, soon after the stall limit, with what
// could not be written dropped (the process would otherwise never exit after SIGTERM).
TEST_F(AccessLogWriter, ShutdownEndsWhenNobodyReadsTheOutput) {
  ::fcntl(write_end_, F_SETPIPE_SZ, 4096);  // one page: a handful of lines fill it
  auto log = std::make_unique<AccessLog>(2, AccessLogSettings{}, write_end_, 10ms, 200ms);
  for (uint16_t i = 0; i < 200; ++i) log->shard(i % 2).write(record(i));
  std::this_thread::sleep_for(50ms);  // the flusher is now waiting for room in the pipe
  auto destroyed = std::async(std::launch::async, [&] { log.reset(); });
  ASSERT_EQ(destroyed.wait_for(5s), std::future_status::ready)
      << "the destructor waits for a reader that never comes";
  // The lines that fitted arrived whole; the rest were dropped, never half-written.
  const auto out = drain(50ms);
  EXPECT_GT(out.size(), 0u);
  EXPECT_LE(out.size(), 4096u);
  EXPECT_EQ(out.back(), '\n');
}

// A slow reader is not a stalled one: everything arrives if stdout keeps taking bytes.
TEST_F(AccessLogWriter, ShutdownWaitsForAReaderThatKeepsReading) {
  ::fcntl(write_end_, F_SETPIPE_SZ, 4096);
  auto log = std::make_unique<AccessLog>(1, AccessLogSettings{}, write_end_, 10ms, 300ms);
  const size_t lines = 400;  // ~40 pipes full
  for (uint16_t i = 0; i < lines; ++i) log->shard(0).write(record(i));
  std::string out;
  std::thread reader([&] {
    char buf[1024];
    const auto deadline = steady_clock::now() + 10s;
    while (static_cast<size_t>(std::count(out.begin(), out.end(), '\n')) < lines &&
           steady_clock::now() < deadline) {
      const ssize_t n = ::read(read_end_, buf, sizeof buf);  // 1 KiB at a time, 2 ms apart
      if (n > 0) out.append(buf, static_cast<size_t>(n));
      std::this_thread::sleep_for(2ms);
    }
  });
  log.reset();
  reader.join();
  EXPECT_EQ(static_cast<size_t>(std::count(out.begin(), out.end(), '\n')), lines);
}

}  // namespace
}  // namespace edge::log
