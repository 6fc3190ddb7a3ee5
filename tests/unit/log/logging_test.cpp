// The application log's stderr sink against a real pipe.
#include "log/logging.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

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

// --log-format json: every line one object {"ts","level","msg"}, whatever the message holds.
class JsonLogTest : public StderrSinkTest {
 protected:
  void SetUp() override {
    StderrSinkTest::SetUp();
    logger_->set_formatter(makeJsonFormatter());
    // Room for many lines (a one-page pipe polls full once it holds one line).
    ::fcntl(pipe_.write.get(), F_SETPIPE_SZ, 1 << 16);
  }

  std::vector<nlohmann::json> readObjects() {
    std::vector<nlohmann::json> out;
    std::istringstream in(readAll());
    for (std::string line; std::getline(in, line);) {
      try {
        out.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception& e) {
        ADD_FAILURE() << "not JSON: " << line << " (" << e.what() << ")";
      }
    }
    return out;
  }
};

TEST_F(JsonLogTest, EachLineIsOneObject) {
  logger_->warn("target {} ({}) ejected", "10.0.0.1:22", "n1");
  const auto objects = readObjects();
  ASSERT_EQ(objects.size(), 1u);
  const auto& o = objects[0];
  EXPECT_EQ(o.size(), 3u);
  EXPECT_EQ(o["level"], "warning");
  EXPECT_EQ(o["msg"], "target 10.0.0.1:22 (n1) ejected");
  const std::string ts = o["ts"];
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2024-03-05T06:07:08.009Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
}

TEST_F(JsonLogTest, AConnectionsIdBecomesAField) {
  logger_->debug("ignored below the level");
  logger_->info("connect to 10.0.0.1:22 (n1) failed: refused id=000100000000002a");
  logger_->info("not an id: id=xyz");
  const auto objects = readObjects();
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0]["msg"], "connect to 10.0.0.1:22 (n1) failed: refused");
  EXPECT_EQ(objects[0]["id"], "000100000000002a");
  EXPECT_EQ(objects[1]["msg"], "not an id: id=xyz");
  EXPECT_FALSE(objects[1].contains("id"));
}

TEST_F(JsonLogTest, HostileMessagesStayOneValidLine) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::vector<std::string> messages = {every_byte, "\"}\n{\"level\":\"fake\"", "\\", "\xc3",
                                             "\xed\xa0\x80 caf\xc3\xa9"};
  for (const auto& m : messages) logger_->error("{}", m);
  const auto objects = readObjects();
  ASSERT_EQ(objects.size(), messages.size());
  EXPECT_EQ(objects[1]["msg"], messages[1]);
  EXPECT_EQ(objects[2]["msg"], "\\");
  EXPECT_EQ(objects[4]["msg"], "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9");
  for (const auto& o : objects) EXPECT_EQ(o["level"], "error");
}

TEST_F(JsonLogTest, TheDroppedLinesNoticeIsJsonToo) {
  ::fcntl(pipe_.write.get(), F_SETPIPE_SZ, 4096);  // fills at once
  for (int i = 0; i < 1000; ++i) logger_->warn("line {:04}", i);
  readAll();  // the reader comes back (what it read: whole lines, checked elsewhere)
  logger_->warn("after");
  const auto objects = readObjects();
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_NE(objects[0]["msg"].get<std::string>().find("log line(s) dropped"), std::string::npos);
  EXPECT_EQ(objects[1]["msg"], "after");
}

}  // namespace
}  // namespace edge::log
