// The health checker against real loopback sockets: backends that greet (at once or in pieces),
// never greet, greet wrongly, close early, or refuse.
#include "health/checker.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string_view>
#include <thread>

#include "free_port.h"
#include "log_capture.h"
#include "manual_backend.h"
#include "run_until.h"

namespace edge::health {
namespace {

using namespace std::chrono_literals;
using test::LogCapture;
using test::ManualBackend;
using test::run_until;

constexpr std::chrono::milliseconds kDeadline = 5s;

net::Endpoint loopback(uint16_t port) {
  return {asio::ip::address_v4::loopback(), port};
}

void say(const test::UniqueFd& fd, std::string_view bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

// One target "b.svc" with `port`, a table and a checker (every 100ms) for it.
class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override { table_.emplace(HealthTable::Settings{5s, 30s, 4s}, &board_); }

  void watch(uint16_t port) {
    balance::TargetSet set;
    set.targets.push_back(
        {.name = "b.svc", .priority = 0, .weight = 1, .endpoints = {loopback(port)}});
    board_.publish(std::make_shared<const balance::TargetSet>(std::move(set)));
    endpoint_ = loopback(port);
  }
  Checker& start(std::string expect, std::chrono::milliseconds timeout = 300ms) {
    checker_.emplace(Checker::Settings{100ms, timeout, std::move(expect)}, board_, *table_);
    checker_->start();
    return *checker_;
  }
  bool ejected() { return table_->ejected(endpoint_, HealthTable::Clock::now()); }
  bool waitEjected(bool want) {
    return run_until([&] { return ejected() == want; }, kDeadline);
  }
  bool waitRounds(size_t n) {
    return run_until([&] { return checker_->rounds() >= n; }, kDeadline);
  }

  LogCapture log_;  // first: outlives the checker's thread
  discovery::TargetBoard board_;
  std::optional<HealthTable> table_;
  net::Endpoint endpoint_;
  std::optional<Checker> checker_;  // last: stopped first
};

TEST_F(CheckerTest, ARefusingTargetIsEjectedOnceAndReadmittedWhenItListens) {
  const uint16_t port = test::refusing_port();
  watch(port);
  start("");
  ASSERT_TRUE(waitEjected(true));
  ASSERT_TRUE(waitRounds(3));
  EXPECT_EQ(log_.count("target 127.0.0.1:" + std::to_string(port) +
                       " (b.svc) ejected: health check: connect: Connection refused"),
            1u)
      << log_.text();
}

TEST_F(CheckerTest, ATargetThatAcceptsPassesAConnectOnlyCheck) {
  ManualBackend backend;  // the kernel completes the handshake; nobody ever speaks
  watch(backend.port());
  start("");
  ASSERT_TRUE(waitRounds(3));
  EXPECT_FALSE(ejected());
  EXPECT_EQ(log_.count("ejected"), 0u) << log_.text();
}

TEST_F(CheckerTest, ASilentTargetFailsAGreetingCheckAndComesBackWhenItGreets) {
  ManualBackend backend;
  watch(backend.port());
  start("SSH-2.0-");
  ASSERT_TRUE(waitEjected(true));
  EXPECT_EQ(log_.count("ejected: health check: no greeting within 300ms"), 1u) << log_.text();
  // From now on every check is greeted.
  ASSERT_TRUE(run_until(
      [&] {
        // Earlier checks wait in the backlog too, already given up: a failed send is theirs.
        auto fd = backend.accept_one(10ms);
        if (fd.valid()) (void)::send(fd.get(), "SSH-2.0-x\r\n", 11, MSG_NOSIGNAL);
        return !ejected();
      },
      kDeadline, 1ms));
  EXPECT_EQ(log_.count("(b.svc) readmitted"), 1u) << log_.text();
}

TEST_F(CheckerTest, AGreetingInPiecesPasses) {
  ManualBackend backend;
  watch(backend.port());
  start("SSH-2.0-", 5s);
  auto fd = backend.accept_one(kDeadline);
  ASSERT_GE(fd.get(), 0);
  // Paced (not a synchronisation): each piece most likely lands in a read of its own, and a
  // verdict after a piece would end the round early.
  for (std::string_view piece : {"SS", "H-2.", "0"}) {
    say(fd, piece);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(checker_->rounds(), 0u) << "a verdict after " << piece;
  }
  say(fd, "-OpenSSH\r\n");
  ASSERT_TRUE(waitRounds(1));
  EXPECT_FALSE(ejected());
  EXPECT_EQ(log_.count("ejected"), 0u) << log_.text();
}

TEST_F(CheckerTest, AWrongGreetingFailsAtOnceAndIsShownEscaped) {
  ManualBackend backend;
  watch(backend.port());
  start("SSH-2.0-", 5s);
  auto fd = backend.accept_one(kDeadline);
  ASSERT_GE(fd.get(), 0);
  say(fd, "HTTP/1.1 400\r\n");
  ASSERT_TRUE(waitEjected(true));  // long before the 5s timeout
  EXPECT_EQ(
      log_.count(R"(ejected: health check: greeting "HTTP/1.1" does not start with "SSH-2.0-")"),
      1u)
      << log_.text();
}

TEST_F(CheckerTest, AClosePartWayThroughTheGreetingFails) {
  ManualBackend backend;
  watch(backend.port());
  start("SSH-2.0-", 5s);
  auto fd = backend.accept_one(kDeadline);
  ASSERT_GE(fd.get(), 0);
  say(fd, "SSH-");
  fd.reset();
  ASSERT_TRUE(waitEjected(true));
  EXPECT_EQ(log_.count(R"(health check: closed after "SSH-" (expected "SSH-2.0-"))"), 1u)
      << log_.text();
}

TEST_F(CheckerTest, StopsPromptlyWithChecksInFlight) {
  ManualBackend backend;
  watch(backend.port());
  start("SSH-2.0-", 1h);  // a check that would wait an hour
  test::UniqueFd held;    // open and silent: the check waits for its greeting
  ASSERT_TRUE(run_until(
      [&] {
        held = backend.accept_one(10ms);
        return held.valid();
      },
      kDeadline));
  const auto t0 = std::chrono::steady_clock::now();
  checker_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(checker_->rounds(), 0u);
}

}  // namespace
}  // namespace edge::health
