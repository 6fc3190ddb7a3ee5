// Stdout (the access log) is a pipe nobody reads, as when a log collector hangs: connections
// are still served, and SIGTERM still ends the process in bounded time, with the lines that
// could not be written counted on stderr.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ioctl.h>

#include "edge_fixture.h"
#include "pipe_pair.h"
#include "run_until.h"

namespace edge::test {
namespace {

class BlockedStdout : public EdgeFixture {
 protected:
  std::size_t queued() const {
    int bytes = 0;
    ::ioctl(pipe_.read.get(), FIONREAD, &bytes);
    return static_cast<std::size_t>(bytes);
  }

  PipePair pipe_ = make_pipe(4096);  // one page: a few lines fill it; never read
};

TEST_F(BlockedStdout, SigtermEndsTheProcessAndCountsTheDroppedLines) {
  Backend& backend = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, backend);
  start_dns(std::move(records));
  std::vector<std::string> args = {"--target", kService};
  for (auto& arg : dns_args()) args.push_back(std::move(arg));
  start_edge_with({.args = std::move(args), .stdout_fd = pipe_.write.get()});
  pipe_.write.reset();  // only the daemon holds the write end now

  // Far more lines than the pipe holds; every connection is still served.
  const auto counts = spread(100);
  EXPECT_EQ(counts.count("b1") ? counts.at("b1") : 0, 100) << describe(counts);
  ASSERT_TRUE(run_until([&] { return queued() > 0; }, kIoTimeout));  // the pipe is full

  ASSERT_TRUE(signal_edge(SIGTERM));
  EXPECT_EQ(edge().process().wait_exit(8s), 0) << "still running 8 s after SIGTERM";
  EXPECT_TRUE(edge().process().wait_for_line(Stream::err, "access log: dropped", 0ms));
  EXPECT_TRUE(edge().process().wait_for_line(Stream::err, "stopped", 0ms));
}

}  // namespace
}  // namespace edge::test
