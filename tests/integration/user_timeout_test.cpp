// --user-timeout (TCP_USER_TIMEOUT) reaches both of the proxy's sockets and ends a connection
// whose peer leaves our data unacknowledged, on both sides, with the reason in the access log.
//
// A peer that vanishes needs dropped packets (a network namespace: the fault suite does that).
// On loopback the same kernel timer is reached honestly by a peer that keeps its receive window
// shut: a test socket that stops reading while the other peer floods it. The kernel's zero-window
// probes are answered, but with TCP_USER_TIMEOUT set it gives up on a window shut that long
// (Linux >= 5.11, "tcp: fix TCP_USER_TIMEOUT with zero window"). The client side proves the
// listener's option is inherited by accepted sockets; the target side proves the session sets it
// on the socket it opens.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include "edge_fixture.h"
#include "manual_backend.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

// 1 s of user timeout, then the probe timer's next tick and the access log's batching.
constexpr auto kEndsWithin = 10s;

class UserTimeout : public EdgeFixture {
 protected:
  void connect_through(std::vector<std::string> args) {
    start_dns(single_target(target_.port()));
    start_edge(std::move(args));
    client_ = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client_);
    target_fd_ = target_.accept_one(kIoTimeout);
    ASSERT_TRUE(target_fd_.valid());
  }

  LogfmtRecord only_record() {
    if (!edge().wait_access_log(1, kIoTimeout)) return LogfmtRecord::parse("close=<none>");
    return edge().access_log().front();
  }

  ManualBackend target_;
  std::optional<TcpClient> client_;
  UniqueFd target_fd_;
};

TEST_F(UserTimeout, AClientThatStopsReadingPastTheUserTimeoutIsDroppedAndTheTargetReset) {
  connect_through({"--user-timeout", "1s"});
  // The client reads nothing: its window, then the proxy's buffers toward it, fill up.
  ASSERT_GT(fill_until_blocked(target_fd_.get(), 300ms, 10s), 0u);
  EXPECT_TRUE(wait_reset(target_fd_.get(), kEndsWithin))
      << "the target connection is still open (TCP state " << tcp_state(target_fd_.get()) << ")";
  const auto record = only_record();
  EXPECT_EQ(record.get("close"), "client_timeout");
  EXPECT_EQ(record.get("error"), "Connection timed out");
  EXPECT_GE(record.integer("duration_ms").value_or(0), 1000);  // never before the timeout
  // The kernel gave up on the client without a word to it (a vanished peer could not hear
  // one): once it reads again, its window update meets a closed socket and gets a reset, so
  // it never takes the cut stream for a complete one.
  const auto end = client_->wait_closed(kIoTimeout);
  EXPECT_EQ(end, IoResult::reset) << to_string(end);
}

TEST_F(UserTimeout, ATargetThatStopsReadingPastTheUserTimeoutIsDroppedAndTheClientReset) {
  connect_through({"--user-timeout", "1s"});
  ASSERT_GT(fill_until_blocked(client_->fd(), 300ms, 10s), 0u);
  EXPECT_TRUE(wait_reset(client_->fd(), kEndsWithin))
      << "the client connection is still open (TCP state " << tcp_state(client_->fd()) << ")";
  const auto record = only_record();
  EXPECT_EQ(record.get("close"), "target_timeout");
  EXPECT_EQ(record.get("error"), "Connection timed out");
  EXPECT_GE(record.integer("duration_ms").value_or(0), 1000);
}

TEST_F(UserTimeout, OffLeavesAClientThatPausesReadingConnected) {
  connect_through({"--user-timeout", "off"});
  const auto sent = fill_until_blocked(target_fd_.get(), 300ms, 10s);
  ASSERT_GT(sent, 0u);
  // Three times what the tests above needed to drop it: still connected, nothing logged.
  EXPECT_FALSE(run_until([&] { return tcp_state(target_fd_.get()) != TCP_ESTABLISHED; }, 3s));
  EXPECT_TRUE(edge().access_log().empty());
  // The client reads again: every byte arrives, the connection is whole.
  ::shutdown(target_fd_.get(), SHUT_WR);
  const auto got = client_->read_until_eof(kEndsWithin, sent + 1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), sent);
}

}  // namespace
}  // namespace edge::test
