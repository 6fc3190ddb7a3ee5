// The access-log line: exact text for a fixed, UTC time point.
#include "log/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

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
       "ts=2024-03-05T06:07:08.009Z route=sftp client=192.0.2.10:54321 target=10.0.0.1:2222 "
       "target_name=node1.example.internal bytes_to_target=123 bytes_to_client=4567 "
       "duration_ms=1500 close=target_closed attempts=1"},
      {"no target",
       {kEnd, ep("192.0.2.10", 1), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::NoTargets, 0,
        "", ""},
       "ts=2024-03-05T06:07:08.009Z route=- client=192.0.2.10:1 target=- target_name=- "
       "bytes_to_target=0 bytes_to_client=0 duration_ms=0 close=no_targets attempts=0"},
      {"ipv6 client and target",
       {kEnd, ep("::1", 5), ep("fd00::2", 22), "n2", 1, 2, 42ms, proxy::CloseReason::ClientReset, 2,
        "", ""},
       "ts=2024-03-05T06:07:08.009Z route=- client=[::1]:5 target=[fd00::2]:22 target_name=n2 "
       "bytes_to_target=1 bytes_to_client=2 duration_ms=42 close=client_reset attempts=2"},
      {"error suffix",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 5s, proxy::CloseReason::ConnectFailed, 3,
        "connect timeout", ""},
       "ts=2024-03-05T06:07:08.009Z route=- client=[::1]:5 target=- target_name=- "
       "bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=5000 close=connect_failed attempts=3 "
       "error=\"connect timeout\""},
      {"error with quote, backslash and newline",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::ConnectFailed, 1,
        "bad \"x\\y\"\n", ""},
       "ts=2024-03-05T06:07:08.009Z route=- client=[::1]:5 target=- target_name=- "
       "bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=0 close=connect_failed attempts=1 "
       "error=\"bad \\\"x\\\\y\\\"\""},
      {"epoch, large counters",
       {system_clock::time_point{}, ep("127.0.0.1", 65535), ep("127.0.0.1", 1), "x",
        18446744073709551615ull, 1ull << 40, 86400s, proxy::CloseReason::Shutdown, 1, "", ""},
       "ts=1970-01-01T00:00:00.000Z route=- client=127.0.0.1:65535 target=127.0.0.1:1 "
       "target_name=x "
       "bytes_to_target=18446744073709551615 bytes_to_client=1099511627776 duration_ms=86400000 "
       "close=shutdown attempts=1"},
  };
  for (const auto& c : cases) EXPECT_EQ(formatAccess(c.record), c.want) << c.what;
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
  AccessLog log(2, write_end_, 20ms);
  log.shard(0).write(record(1));
  log.shard(1).write(record(2));
  log.shard(0).write(record(3));
  const auto out = drain(300ms);
  EXPECT_NE(out.find(formatAccess(record(1)) + "\n" + formatAccess(record(3)) + "\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(formatAccess(record(2)) + "\n"), std::string::npos) << out;
}

TEST_F(AccessLogWriter, StoppingWritesWhatIsStillBuffered) {
  {
    AccessLog log(1, write_end_, std::chrono::hours(1));  // would never flush on its own
    log.shard(0).write(record(7));
  }
  EXPECT_EQ(drain(50ms), formatAccess(record(7)) + "\n");
}

TEST_F(AccessLogWriter, ABlockedOutputDropsLinesInsteadOfGrowing) {
  auto log = std::make_unique<AccessLog>(1, write_end_, std::chrono::hours(1));
  const size_t line = formatAccess(record(1)).size() + 1;
  const size_t fits = (AccessLog::kShardLimit + line - 1) / line;
  for (size_t i = 0; i < fits + 100; ++i) log->shard(0).write(record(1));
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
  auto log = std::make_unique<AccessLog>(2, write_end_, 10ms, 200ms);
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
  auto log = std::make_unique<AccessLog>(1, write_end_, 10ms, 300ms);
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
