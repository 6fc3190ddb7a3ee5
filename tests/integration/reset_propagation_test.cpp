// Issue 9, defect 3: a reset on one side resets the other, whatever the pumps are doing. While
// the client→target direction waited to write to a target that does not read, and the other
// direction waited to read from it, nothing watched the client socket: its reset went unnoticed
// until the target exited, and was then logged as the target's.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "edge_fixture.h"
#include "manual_backend.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kPassedOnWithin = 2s;

class ResetPropagation : public EdgeFixture {
 protected:
  void SetUp() override {
    start_dns(single_target(target_.port()));
    start_edge();
    client_ = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client_);
    target_fd_ = target_.accept_one(kIoTimeout);
    ASSERT_TRUE(target_fd_.valid());
  }

  void reset_client() {
    const linger hard{1, 0};
    ::setsockopt(client_->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    client_.reset();
  }

  std::string close_reason() {
    if (!edge().wait_access_log(1, kIoTimeout)) return "<no access-log line>";
    return edge().access_log().front().get("close");
  }

  ManualBackend target_;
  std::optional<TcpClient> client_;
  UniqueFd target_fd_;
};

TEST_F(ResetPropagation, AClientResetReachesATargetThatNeitherReadsNorWrites) {
  const auto sent = fill_until_blocked(client_->fd(), 300ms, 5s);
  ASSERT_GT(sent, 0u);
  reset_client();
  EXPECT_TRUE(wait_reset(target_fd_.get(), kPassedOnWithin))
      << "the target connection is still open (TCP state " << tcp_state(target_fd_.get())
      << ") after the client reset";
  EXPECT_EQ(close_reason(), "client_reset");
}

TEST_F(ResetPropagation, ATargetResetReachesAClientThatNeitherReadsNorWrites) {
  const auto sent = fill_until_blocked(target_fd_.get(), 300ms, 5s);
  ASSERT_GT(sent, 0u);
  close_with_reset(target_fd_);
  EXPECT_TRUE(wait_reset(client_->fd(), kPassedOnWithin))
      << "the client connection is still open (TCP state " << tcp_state(client_->fd())
      << ") after the target reset";
  EXPECT_EQ(close_reason(), "target_reset");
}

TEST_F(ResetPropagation, AClientResetAfterItsFinReachesASilentTarget) {
  // The client half-closes, the target says nothing, then the client resets.
  ASSERT_EQ(client_->write_all("bye", kIoTimeout), IoResult::ok);
  client_->shutdown_write();
  std::string got(3, '\0');
  std::size_t n = 0;
  ASSERT_EQ(recv_some(target_fd_.get(), got.data(), got.size(), n, Until::in(kIoTimeout)),
            IoResult::ok);
  reset_client();
  EXPECT_TRUE(wait_reset(target_fd_.get(), kPassedOnWithin))
      << "the target connection is still open (TCP state " << tcp_state(target_fd_.get()) << ")";
  EXPECT_EQ(close_reason(), "client_reset");
}

}  // namespace
}  // namespace edge::test
