// The admin server in-process, over real loopback sockets: keep-alive, pipelining, HEAD, the
// request limit per connection, the connection cap, stop() while answering, errors.
#include "admin/admin_server.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "client.h"

namespace edge::admin {
namespace {

using namespace std::chrono_literals;
using test::IoResult;
using test::TcpClient;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // spdlog's registry is built on first use, inside the (uninstrumented) shared library: built
    // here, before the server's threads, as the daemon's main() does, so TSan sees it happen
    // before their log lines instead of two threads racing to build it.
    spdlog::default_logger_raw();
    handlers_.ready = [] { return std::pair<bool, std::string>(false, "starting"); };
    handlers_.metrics = [] { return std::string("m 1\n"); };
    handlers_.targets = [] { return std::string("{}"); };
    handlers_.connections = [this](std::optional<std::string> route, size_t limit) {
      if (slow_) std::this_thread::sleep_for(1s);
      route_ = route;
      limit_ = limit;
      return std::string("[]");
    };
    handlers_.reload = []() -> std::pair<bool, std::string> { throw std::runtime_error("boom"); };
  }

  void start() {
    AdminServer::BindError error;
    server_ = AdminServer::bind({asio::ip::make_address("127.0.0.1"), 0}, handlers_, error);
    ASSERT_TRUE(server_) << error.message;
    server_->start();
  }

  TcpClient connect() {
    auto c = TcpClient::connect("127.0.0.1", server_->endpoint().port(), 2s);
    EXPECT_TRUE(c);
    return std::move(*c);
  }

  // Writes `bytes` on a new connection and reads until the server closes it.
  std::string exchange(const std::string& bytes, std::chrono::milliseconds timeout = 5s) {
    auto c = connect();
    EXPECT_EQ(c.write_all(bytes, 2s), IoResult::ok);
    return c.read_until_eof(timeout).value_or("<no EOF>");
  }

  Handlers handlers_;
  std::atomic<bool> slow_{false};
  std::optional<std::string> route_;
  size_t limit_ = 0;
  std::unique_ptr<AdminServer> server_;
};

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  start();
  const auto out = exchange(
      "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nHEAD /metrics HTTP/1.1\r\n\r\n"
      "GET /ready HTTP/1.1\r\nConnection: close\r\n\r\n");
  const auto healthz = out.find("\r\n\r\nok\n");
  const auto head = out.find("Content-Length: 4\r\n");  // HEAD: the GET's length, no body
  const auto ready = out.find("HTTP/1.1 503 Service Unavailable");
  ASSERT_NE(healthz, std::string::npos) << out;
  ASSERT_NE(head, std::string::npos) << out;
  ASSERT_NE(ready, std::string::npos) << out;
  EXPECT_LT(healthz, head);
  EXPECT_LT(head, ready);
  EXPECT_EQ(out.find("m 1"), std::string::npos) << out;
  EXPECT_EQ(count(out, "Connection: keep-alive"), 2u) << out;
  EXPECT_TRUE(out.ends_with("Connection: close\r\n\r\nnot ready: starting\n")) << out;
}

TEST_F(AdminServerTest, AtMost100RequestsPerConnection) {
  start();
  std::string requests;
  for (int i = 0; i < 101; ++i) requests += "GET /healthz HTTP/1.1\r\n\r\n";
  const auto out = exchange(requests);
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 100u);
  EXPECT_EQ(count(out, "Connection: close"), 1u);
  EXPECT_TRUE(out.ends_with("Connection: close\r\n\r\nok\n")) << out.substr(out.size() - 200);
}

TEST_F(AdminServerTest, Http10ClosesUnlessKeepAlive) {
  start();
  EXPECT_NE(exchange("GET /healthz HTTP/1.0\r\n\r\n").find("Connection: close"), std::string::npos);
}

TEST_F(AdminServerTest, QueryIsDecodedForConnections) {
  start();
  auto out =
      exchange("GET /connections?route=a%2Fb+c&limit=7 HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("200 OK"), std::string::npos) << out;
  EXPECT_EQ(route_, "a/b c");
  EXPECT_EQ(limit_, 7u);
  out = exchange("GET /connections?route= HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(route_, std::nullopt);
  EXPECT_EQ(limit_, kDefaultConnectionLimit);
}

TEST_F(AdminServerTest, AnExceptionIs500AndTheCrossOriginCheckComesFirst) {
  start();
  auto out = exchange("POST /reload HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 500 Internal Server Error"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("internal error: boom\n")) << out;
  out = exchange(
      "POST /reload HTTP/1.1\r\nHost: h:1\r\nOrigin: http://evil\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("HTTP/1.1 403 Forbidden"), std::string::npos) << out;
}

TEST_F(AdminServerTest, BadRequestsAreAnsweredThenClosed) {
  start();
  auto out = exchange("\x16\x03\x01 hello\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos);
  out = exchange("GET / HTTP/1.1\r\nX: " + std::string(100 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << out;
  out = exchange("POST /reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 411 Length Required\r\n")) << out;
  out = exchange("GET / HTTP/3.0\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n")) << out;
}

TEST_F(AdminServerTest, AnIdleKeptConnectionIsClosedAfterASecond) {
  start();
  auto c = connect();
  ASSERT_EQ(c.write_all("GET /healthz HTTP/1.1\r\n\r\n", 2s), IoResult::ok);
  EXPECT_EQ(c.read_line(2s), "HTTP/1.1 200 OK\r");
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_EQ(c.wait_closed(3s), IoResult::eof);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_GT(took, 700ms);
  EXPECT_LT(took, 2s);
}

TEST_F(AdminServerTest, BeyondTheCapANewConnectionClosesTheOldest) {
  start();
  std::vector<TcpClient> idle;
  for (size_t i = 0; i < AdminServer::kMaxConnections; ++i) idle.push_back(connect());
  std::this_thread::sleep_for(200ms);  // all accepted
  EXPECT_NE(exchange("GET /healthz HTTP/1.0\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_EQ(idle.front().wait_closed(1s), IoResult::eof);
  EXPECT_EQ(idle.back().wait_closed(200ms), IoResult::timeout);  // still open
}

TEST_F(AdminServerTest, ASlowRequestDoesNotHoldHealthz) {
  slow_ = true;
  start();
  std::thread slow([&] { exchange("GET /connections HTTP/1.0\r\n\r\n"); });
  std::this_thread::sleep_for(100ms);
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_NE(exchange("GET /healthz HTTP/1.0\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  slow.join();
}

TEST_F(AdminServerTest, StopAnswersTheRequestBeingServedThenJoins) {
  slow_ = true;
  start();
  std::string out;
  std::thread slow([&] { out = exchange("GET /connections HTTP/1.1\r\n\r\n"); });
  std::this_thread::sleep_for(200ms);
  auto idle = connect();  // closed by stop()
  server_->stop();
  slow.join();
  EXPECT_NE(out.find("HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_NE(idle.wait_closed(1s), IoResult::timeout);
  EXPECT_FALSE(TcpClient::connect("127.0.0.1", server_->endpoint().port(), 500ms));
  server_->stop();  // idempotent
}

TEST_F(AdminServerTest, TheSamePortTwiceIsAddressInUse) {
  start();
  AdminServer::BindError error;
  EXPECT_FALSE(AdminServer::bind(server_->endpoint(), handlers_, error));
  EXPECT_EQ(error.code, std::errc::address_in_use);
  EXPECT_EQ(error.message,
            "cannot listen on 127.0.0.1:" + std::to_string(server_->endpoint().port()) +
                ": Address already in use");
}

TEST_F(AdminServerTest, StopWithoutStart) {
  AdminServer::BindError error;
  auto server = AdminServer::bind({asio::ip::make_address("127.0.0.1"), 0}, handlers_, error);
  ASSERT_TRUE(server);
  server->stop();
}

}  // namespace
}  // namespace edge::admin
