// --idle-timeout: a connection with no bytes either way for that long is closed and logged as
// idle_timeout; one that keeps talking is not (activity in either direction resets the clock).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "edge_fixture.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;
using IdleTimeout = EdgeFixture;

TEST_F(IdleTimeout, AQuietConnectionIsClosedAfterTheTimeout) {
  start_with_echo_backend({"--idle-timeout", "500ms"});

  const auto started = std::chrono::steady_clock::now();
  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "echo");
  const auto rest = client->read_until_eof(kIoTimeout);  // nothing more, then the close
  ASSERT_TRUE(rest.has_value()) << "not closed cleanly";
  EXPECT_TRUE(rest->empty());
  const auto lasted = std::chrono::steady_clock::now() - started;
  EXPECT_GE(lasted, 450ms);
  EXPECT_LT(lasted, 3s);

  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  EXPECT_EQ(edge().access_log().front().get("close"), "idle_timeout");
}

TEST_F(IdleTimeout, TrafficKeepsTheConnectionOpen) {
  start_with_echo_backend({"--idle-timeout", "500ms"});

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "echo");
  // 1.5 s in all, three times the timeout, never quiet for more than 200 ms.
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(client->write_all("ping\n", kIoTimeout), IoResult::ok);
    ASSERT_EQ(client->read_line(kIoTimeout), "ping") << "closed while active, round " << i;
  }
  EXPECT_TRUE(edge().access_log().empty());
}

}  // namespace
}  // namespace edge::test
