// Issue 9, defect 1: TCP urgent ("out-of-band") data in the middle of a stream. splice() stops
// in front of the urgent byte; the daemon used to wait there for ever, or take splice()'s 0 once
// the FIN was in for the end of the stream, losing everything after the urgent byte. The urgent
// byte is now forwarded inline, as an ordinary byte at its place, in both directions and with
// every --pipe-size.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <thread>

#include "byte_stream.h"
#include "edge_fixture.h"
#include "manual_backend.h"

namespace edge::test {
namespace {

constexpr std::size_t kHalf = 1 << 20;           // bytes before and after the urgent byte
constexpr std::uint64_t kWhole = 2 * kHalf + 1;  // 2,097,153: the urgent byte counts
constexpr std::chrono::milliseconds kBudget{10'000};

struct UrgentCase {
  const char* name;
  const char* pipe_size;
};

void PrintTo(const UrgentCase& c, std::ostream* os) {
  *os << c.name;
}

// 1 MiB, the urgent byte 'X', 1 MiB, then FIN if `fin`; returns the hash of all 2,097,153 bytes.
std::uint64_t send_around_an_urgent_byte(int fd, bool fin, const Until& until) {
  std::vector<std::uint8_t> half(kHalf);
  ByteStream stream(0x0b0b);
  Fnv1a64 hash;
  stream.fill(half);
  hash.update(half);
  EXPECT_EQ(send_all(fd, half.data(), half.size(), until), IoResult::ok);
  const std::uint8_t urgent = 'X';
  bool sent = false;
  while (!sent && wait_ready(fd, POLLOUT, until) == IoResult::ok) {
    sent = ::send(fd, &urgent, 1, MSG_OOB | MSG_NOSIGNAL) == 1;
  }
  EXPECT_TRUE(sent);
  hash.update({&urgent, 1});
  stream.fill(half);
  hash.update(half);
  EXPECT_EQ(send_all(fd, half.data(), half.size(), until), IoResult::ok);
  if (fin) ::shutdown(fd, SHUT_WR);
  return hash.hash();
}

struct Received {
  Fnv1a64 hash;
  IoResult end = IoResult::ok;
};

// Reads until EOF (or error), or until `want` bytes if `want` is set.
Received receive(int fd, const Until& until, std::uint64_t want = 0) {
  Received r;
  std::vector<std::uint8_t> buffer(1 << 16);
  while (r.end == IoResult::ok && (want == 0 || r.hash.size() < want)) {
    std::size_t got = 0;
    r.end = recv_some(fd, buffer.data(), buffer.size(), got, until);
    if (r.end == IoResult::ok) r.hash.update({buffer.data(), got});
  }
  return r;
}

class UrgentData : public EdgeFixture, public ::testing::WithParamInterface<UrgentCase> {
 protected:
  void SetUp() override {
    start_dns(single_target(target_.port()));
    start_edge({"--pipe-size", GetParam().pipe_size});
    client_ = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client_);
    target_fd_ = target_.accept_one(kIoTimeout);
    ASSERT_TRUE(target_fd_.valid());
  }

  ManualBackend target_;
  std::optional<TcpClient> client_;
  UniqueFd target_fd_;
};

TEST_P(UrgentData, FromTheClientEveryByteAfterTheUrgentByteArrivesAndThenTheEof) {
  const Until until = Until::in(kBudget);
  std::uint64_t sent_hash = 0;
  std::thread writer([&] { sent_hash = send_around_an_urgent_byte(client_->fd(), true, until); });
  const Received got = receive(target_fd_.get(), until);
  writer.join();
  EXPECT_EQ(got.end, IoResult::eof) << to_string(got.end);
  EXPECT_EQ(got.hash.size(), kWhole);
  EXPECT_EQ(got.hash.hash(), sent_hash);
  ::shutdown(target_fd_.get(), SHUT_WR);
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "client_closed");
  EXPECT_EQ(record.integer("bytes_to_target"), static_cast<long long>(kWhole));
}

TEST_P(UrgentData, FromTheTargetEveryByteAfterTheUrgentByteArrivesAndThenTheEof) {
  const Until until = Until::in(kBudget);
  std::uint64_t sent_hash = 0;
  std::thread writer(
      [&] { sent_hash = send_around_an_urgent_byte(target_fd_.get(), true, until); });
  const Received got = receive(client_->fd(), until);
  writer.join();
  EXPECT_EQ(got.end, IoResult::eof) << to_string(got.end);
  EXPECT_EQ(got.hash.size(), kWhole);
  EXPECT_EQ(got.hash.hash(), sent_hash);
  client_->shutdown_write();
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "target_closed");
  EXPECT_EQ(record.integer("bytes_to_client"), static_cast<long long>(kWhole));
}

TEST_P(UrgentData, WithoutAFinTheStreamDoesNotStallAtTheUrgentByte) {
  const Until until = Until::in(kBudget);
  std::uint64_t up_hash = 0, down_hash = 0;
  std::thread up([&] { up_hash = send_around_an_urgent_byte(client_->fd(), false, until); });
  std::thread down([&] { down_hash = send_around_an_urgent_byte(target_fd_.get(), false, until); });
  const Received at_target = receive(target_fd_.get(), until, kWhole);
  const Received at_client = receive(client_->fd(), until, kWhole);
  up.join();
  down.join();
  EXPECT_EQ(at_target.hash.size(), kWhole) << "stalled: " << to_string(at_target.end);
  EXPECT_EQ(at_target.hash.hash(), up_hash);
  EXPECT_EQ(at_client.hash.size(), kWhole) << "stalled: " << to_string(at_client.end);
  EXPECT_EQ(at_client.hash.hash(), down_hash);
  client_.reset();  // FIN both ways: the connection ends before the daemon is stopped
  target_fd_.reset();
}

INSTANTIATE_TEST_SUITE_P(PipeSizes, UrgentData,
                         ::testing::Values(UrgentCase{"Pipe1m", "1m"}, UrgentCase{"Pipe4k", "4k"},
                                           UrgentCase{"PipesOff", "off"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace edge::test
