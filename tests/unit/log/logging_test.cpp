// The application log's stderr sink against a real pipe.
#include "log/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "pipe_pair.h"

namespace edge::log {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class StderrSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logger_ = std::make_shared<spdlog::logger>("test", makeStderrSink(pipe_.write.get()));
    logger_->set_pattern("%v");
  }

  std::string readAll() {
    ::fcntl(pipe_.read.get(), F_SETFL, O_NONBLOCK);
    std::string out;
    char buf[8192];
    ssize_t n = 0;
    while ((n = ::read(pipe_.read.get(), buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    return out;
  }

  test::PipePair pipe_ = test::make_pipe(4096);
  std::shared_ptr<spdlog::logger> logger_;
};

// A worker that logs while stderr is a pipe nobody reads is held up for 100 ms once, not for
// ever (nor 100 ms per line).
TEST_F(StderrSinkTest, ABlockedStderrDoesNotBlockTheLoggingThread) {
  const auto start = Clock::now();
  for (int i = 0; i < 1000; ++i) logger_->warn("line {} of a log nobody reads", i);
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(StderrSinkTest, TheNextLineThatGetsThroughCountsTheDroppedOnes) {
  for (int i = 0; i < 1000; ++i) logger_->warn("line {:04}", i);
  const auto first = readAll();  // the reader comes back
  logger_->warn("after");
  const auto second = readAll();
  EXPECT_EQ(first.substr(0, 10), "line 0000\n");
  const auto lines_first = std::count(first.begin(), first.end(), '\n');
  EXPECT_EQ(second, "(" + std::to_string(1000 - lines_first) +
                        " log line(s) dropped: stderr was blocked)\n" + "after\n");
}

}  // namespace
}  // namespace edge::log
