// Hostile clients against the real binary's admin endpoint: a request that never ends, a huge
// head, hundreds of idle connections, garbage; and pipelining, which is legal. /healthz must keep
// answering through all of it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "admin_fixture.h"

namespace edge::test {
namespace {

using AdminHostile = AdminFixture;
using Clock = std::chrono::steady_clock;

TEST_F(AdminHostile, ASlowlorisIsClosedAfterFiveSecondsAndHealthzAnswersMeanwhile) {
  start_with_echo_backend(kAdminAnyPort);
  auto slow = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
  ASSERT_TRUE(slow);
  const auto begin = Clock::now();
  ASSERT_EQ(slow->write_all("GET /healthz HTTP/1.1\r\nHost: x\r\n", kIoTimeout), IoResult::ok);
  bool checked = false;
  IoResult end = IoResult::timeout;
  while (Clock::now() - begin < 10s) {
    if (slow->write_all("X", 1s) != IoResult::ok) break;  // a byte every 500 ms, never the end
    end = slow->wait_closed(500ms);
    if (end != IoResult::timeout) break;
    if (!checked) {
      const auto healthz = get("/healthz");
      EXPECT_EQ(healthz.status, 200) << healthz.error;
      checked = true;
    }
  }
  const auto took = Clock::now() - begin;
  EXPECT_NE(end, IoResult::timeout);
  EXPECT_GT(took, 4500ms);
  EXPECT_LT(took, 7s);
  EXPECT_TRUE(checked);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(AdminHostile, AHundredKibHeadIs431AndClosed) {
  start_with_echo_backend(kAdminAnyPort);
  auto client = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                  std::string(100 * 1024, 'a') + "\r\n\r\n",
                              kIoTimeout),
            IoResult::ok);
  EXPECT_EQ(client->read_line(kIoTimeout).value_or("<none>"),
            "HTTP/1.1 431 Request Header Fields Too Large\r");
  EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(AdminHostile, TwoHundredIdleConnectionsDoNotKeepHealthzOut) {
  start_with_echo_backend(kAdminAnyPort);
  std::vector<TcpClient> idle;
  for (int i = 0; i < 200; ++i) {
    auto c = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
    ASSERT_TRUE(c) << i;
    idle.push_back(std::move(*c));
  }
  for (int i = 0; i < 5; ++i) {
    const auto begin = Clock::now();
    const auto healthz = get("/healthz");
    EXPECT_EQ(healthz.status, 200) << healthz.error;
    EXPECT_LT(Clock::now() - begin, 1s);
  }
  // The endpoint said why it closed some (once, not 136 times).
  EXPECT_TRUE(has_line(edge().stderr_lines(), "connections open; closing the oldest"));
}

TEST_F(AdminHostile, PipelinedRequestsAreAnsweredInOrder) {
  start_with_echo_backend(kAdminAnyPort);
  auto client = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                              kIoTimeout),
            IoResult::ok);
  const auto all = client->read_until_eof(kIoTimeout).value_or("<no EOF>");
  const auto first = all.find("HTTP/1.1 200 OK\r\n");
  const auto second = all.find("HTTP/1.1 404 Not Found\r\n");
  ASSERT_NE(first, std::string::npos) << all;
  ASSERT_NE(second, std::string::npos) << all;
  EXPECT_LT(first, second);
  EXPECT_NE(all.find("\r\n\r\nok\n"), std::string::npos) << all;
  EXPECT_TRUE(all.ends_with("404 not found\n")) << all;
}

TEST_F(AdminHostile, GarbageIs400AndClosed) {
  start_with_echo_backend(kAdminAnyPort);
  for (const std::string& garbage :
       {std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15),
        std::string("\0\0\0\0\r\n\r\n", 8), std::string("hello\n\n")}) {
    auto client = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
    ASSERT_TRUE(client);
    ASSERT_EQ(client->write_all(garbage, kIoTimeout), IoResult::ok);
    EXPECT_EQ(client->read_line(kIoTimeout).value_or("<none>"), "HTTP/1.1 400 Bad Request\r");
    EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);
  }
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace edge::test
