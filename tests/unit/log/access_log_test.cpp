// The access-log line: exact text for a fixed, UTC time point.
#include "log/access_log.h"

#include <gtest/gtest.h>

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
        1500ms, proxy::CloseReason::TargetClosed, 1, ""},
       "ts=2024-03-05T06:07:08.009Z client=192.0.2.10:54321 target=10.0.0.1:2222 "
       "target_name=node1.example.internal bytes_to_target=123 bytes_to_client=4567 "
       "duration_ms=1500 close=target_closed attempts=1"},
      {"no target",
       {kEnd, ep("192.0.2.10", 1), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::NoTargets, 0,
        ""},
       "ts=2024-03-05T06:07:08.009Z client=192.0.2.10:1 target=- target_name=- "
       "bytes_to_target=0 bytes_to_client=0 duration_ms=0 close=no_targets attempts=0"},
      {"ipv6 client and target",
       {kEnd, ep("::1", 5), ep("fd00::2", 22), "n2", 1, 2, 42ms, proxy::CloseReason::ClientReset, 2,
        ""},
       "ts=2024-03-05T06:07:08.009Z client=[::1]:5 target=[fd00::2]:22 target_name=n2 "
       "bytes_to_target=1 bytes_to_client=2 duration_ms=42 close=client_reset attempts=2"},
      {"error suffix",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 5s, proxy::CloseReason::ConnectFailed, 3,
        "connect timeout"},
       "ts=2024-03-05T06:07:08.009Z client=[::1]:5 target=- target_name=- bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=5000 close=connect_failed attempts=3 "
       "error=\"connect timeout\""},
      {"error with quote, backslash and newline",
       {kEnd, ep("::1", 5), std::nullopt, "", 0, 0, 0us, proxy::CloseReason::ConnectFailed, 1,
        "bad \"x\\y\"\n"},
       "ts=2024-03-05T06:07:08.009Z client=[::1]:5 target=- target_name=- bytes_to_target=0 "
       "bytes_to_client=0 duration_ms=0 close=connect_failed attempts=1 "
       "error=\"bad \\\"x\\\\y\\\"\""},
      {"epoch, large counters",
       {system_clock::time_point{}, ep("127.0.0.1", 65535), ep("127.0.0.1", 1), "x",
        18446744073709551615ull, 1ull << 40, 86400s, proxy::CloseReason::Shutdown, 1, ""},
       "ts=1970-01-01T00:00:00.000Z client=127.0.0.1:65535 target=127.0.0.1:1 target_name=x "
       "bytes_to_target=18446744073709551615 bytes_to_client=1099511627776 duration_ms=86400000 "
       "close=shutdown attempts=1"},
  };
  for (const auto& c : cases) EXPECT_EQ(formatAccess(c.record), c.want) << c.what;
}

}  // namespace
}  // namespace edge::log
