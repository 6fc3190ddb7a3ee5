// Pipes under an unprivileged user (issue 9): an unprivileged user's pipes share
// fs.pipe-user-pages-soft (64 MiB); past it the kernel makes 2-page pipes and F_SETPIPE_SZ
// fails. The daemon used to pool those small pipes and hand them to every later stream. Here it
// runs as `nobody` (setpriv), a burst of 80 streams to a target that does not read pins a pipe
// each, and the daemon's pipes are inspected from outside (pidfd_getfd + F_GETPIPE_SZ): none
// may be smaller than --pipe-size, during the burst, after it, and after a later single stream.
// Needs root (to switch user and to inspect the daemon); skipped otherwise.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "byte_stream.h"
#include "edge_fixture.h"
#include "manual_backend.h"
#include "process_pipes.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kPipeSize = 1 << 20;
constexpr int kBurst = 80;  // more than the 64 pipes of 1 MiB the user's budget allows

std::string describe(const std::vector<std::size_t>& sizes) {
  std::map<std::size_t, int> count;
  for (auto s : sizes) ++count[s];
  std::string out;
  for (auto [size, n] : count) out += std::to_string(n) + " x " + std::to_string(size) + " B; ";
  return out.empty() ? "no pipes" : out;
}

class PipeBudget : public EdgeFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the daemon as nobody";
    if (::access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
    start_dns(single_target(target_.port()));
    std::vector<std::string> argv = {
        "setpriv",  "--reuid=nobody", "--regid=nogroup", "--clear-groups",
        "--",       edge_binary(),    "--listen",        "127.0.0.1:0",
        "--target", kService,         "--pipe-size",     "1m"};
    for (auto& arg : dns_args()) argv.push_back(arg);
    daemon_ = std::make_unique<Subprocess>(
        SubprocessOptions{.argv = argv, .set_env = {}, .unset_env = edge_env_vars()});
    const auto line = daemon_->wait_for_line(Stream::err, "listening on ", 15s);
    ASSERT_TRUE(line) << "the daemon did not start as nobody";
    port_ = parse_listening_port(*line).value_or(0);
    ASSERT_NE(port_, 0);
    // Pipes it holds before any stream that are not the pool's (inherited ones) are ignored.
    for (const auto& [name, size] : pipe_sizes_of(daemon_->pid()).value_or(Pipes{})) {
      if (size != kPipeSize) foreign_.insert(name);
    }
  }

  void TearDown() override {
    if (HasFailure() && daemon_) {
      for (const auto& l : daemon_->lines_err()) std::cout << "  edge stderr: " << l << "\n";
    }
    if (daemon_) daemon_->terminate(5s);
    EdgeFixture::TearDown();
  }

  // The sizes of the daemon's own pipes.
  std::vector<std::size_t> pipes() {
    auto sizes = pipe_sizes_of(daemon_->pid());
    EXPECT_TRUE(sizes.has_value()) << "cannot inspect the daemon's descriptors";
    std::vector<std::size_t> out;
    for (const auto& [name, size] : sizes.value_or(Pipes{})) {
      if (!foreign_.contains(name)) out.push_back(size);
    }
    return out;
  }

  std::size_t access_log_lines() const { return daemon_->count_lines(Stream::out, "close="); }

  using Pipes = std::map<std::string, std::size_t>;
  ManualBackend target_;
  std::set<std::string> foreign_;
  std::unique_ptr<Subprocess> daemon_;
  std::uint16_t port_ = 0;
};

TEST_F(PipeBudget, AsNobodyNoPipeIsEverSmallerThanAskedAfterABurstOfStreams) {
  struct Stream {
    std::optional<TcpClient> client;
    UniqueFd target;
  };
  std::vector<Stream> burst(kBurst);
  for (auto& s : burst) {
    s.client = TcpClient::connect("127.0.0.1", port_, kIoTimeout);
    ASSERT_TRUE(s.client);
    s.target = target_.accept_one(kIoTimeout);
    ASSERT_TRUE(s.target.valid());
  }
  // Every client sends until nothing moves: each stream then waits on its target with a pipe
  // (or, past the budget, a copy buffer) full of bytes.
  std::vector<char> chunk(256 << 10, 'b');
  auto last_progress = std::chrono::steady_clock::now();
  run_until(
      [&] {
        for (auto& s : burst) {
          if (::send(s.client->fd(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
            last_progress = std::chrono::steady_clock::now();
          }
        }
        return std::chrono::steady_clock::now() - last_progress > 300ms;
      },
      10s, 5ms);

  const auto during = pipes();
  std::cout << "during the burst: " << describe(during) << "\n";
  EXPECT_TRUE(std::all_of(during.begin(), during.end(), [](auto s) { return s >= kPipeSize; }))
      << "pipes smaller than --pipe-size in use: " << describe(during);
  EXPECT_LE(during.size(), 64u) << "more pipes than the user's budget holds";

  for (auto& s : burst) {
    close_with_reset(s.target);
    s.client.reset();
  }
  ASSERT_TRUE(run_until([&] { return access_log_lines() >= kBurst; }, 10s));
  const auto after = pipes();
  std::cout << "after the burst (pooled): " << describe(after) << "\n";
  EXPECT_TRUE(std::all_of(after.begin(), after.end(), [](auto s) { return s >= kPipeSize; }))
      << "the pool kept pipes smaller than --pipe-size: " << describe(after);

  // A later single stream: bulk bytes through full-size pipes, every byte intact.
  auto client = TcpClient::connect("127.0.0.1", port_, kIoTimeout);
  ASSERT_TRUE(client);
  UniqueFd target = target_.accept_one(kIoTimeout);
  ASSERT_TRUE(target.valid());
  constexpr std::uint64_t kBytes = 64 << 20;
  const Until until = Until::in(20s);
  Fnv1a64 sent;
  std::thread writer([&] {
    ByteStream stream(7);
    std::vector<std::uint8_t> buf(1 << 20);
    for (std::uint64_t n = 0; n < kBytes; n += buf.size()) {
      stream.fill(buf);
      sent.update(buf);
      if (send_all(client->fd(), buf.data(), buf.size(), until) != IoResult::ok) break;
    }
    client->shutdown_write();
  });
  Fnv1a64 received;
  std::vector<std::uint8_t> buf(1 << 16);
  std::vector<std::size_t> while_streaming;
  IoResult end = IoResult::ok;
  while (end == IoResult::ok) {
    std::size_t got = 0;
    end = recv_some(target.get(), buf.data(), buf.size(), got, until);
    if (end == IoResult::ok) received.update({buf.data(), got});
    if (received.size() > kBytes / 2 && while_streaming.empty()) while_streaming = pipes();
  }
  writer.join();
  EXPECT_EQ(end, IoResult::eof) << to_string(end);
  EXPECT_EQ(received.size(), kBytes);
  EXPECT_EQ(received.hash(), sent.hash());
  std::cout << "during a later single stream: " << describe(while_streaming) << "\n";
  EXPECT_FALSE(while_streaming.empty());
  EXPECT_TRUE(std::all_of(while_streaming.begin(), while_streaming.end(), [](auto s) {
    return s >= kPipeSize;
  })) << describe(while_streaming);
}

}  // namespace
}  // namespace edge::test
