// --state-file: the last known good targets survive a restart. The daemon saves its target set;
// restarted while the DNS server is down it serves the saved set (and says so), which without
// the file it could not; the first answer once DNS is back replaces the saved set.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr int kClients = 20;

class StateFile : public EdgeFixture {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "edge-state-file-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/targets.state";
  }
  void TearDown() override {
    EdgeFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }

  std::string file_text() const {
    std::ifstream in(path_);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool file_names(const Backend& backend) const {
    return file_text().find(" " + backend.endpoint()) != std::string::npos;
  }

  // Stops the running daemon cleanly and starts a new one with `args`.
  void restart_edge(std::vector<std::string> args) {
    ASSERT_TRUE(edge().process().terminate(5s).has_value());
    edge_.reset();
    start_edge(std::move(args));
  }

  bool logged(const std::string& text) const {
    for (const auto& line : edge_->stderr_lines()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StateFile, ARestartDuringADnsOutageServesTheSavedTargets) {
  const Backend& backend = start_with_echo_backend({"--state-file", path_});
  ASSERT_TRUE(run_until([&] { return file_names(backend); }, 5s)) << file_text();
  EXPECT_EQ(file_text().rfind("edge-connector-targets 1\n", 0), 0u) << file_text();
  EXPECT_EQ(greeting_through_edge(), "echo");

  dns().stop();
  restart_edge({"--state-file", path_});
  const auto counts = spread(kClients);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"echo", kClients}})) << describe(counts);
  EXPECT_TRUE(logged("discovery: DNS did not answer; serving 1 saved target(s) from " + path_));
}

TEST_F(StateFile, WithoutItARestartDuringADnsOutageHasNoTargets) {
  start_with_echo_backend();
  ASSERT_EQ(greeting_through_edge(), "echo");

  dns().stop();
  restart_edge({});
  const auto counts = spread(kClients);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"<no greeting>", kClients}})) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(kClients, kIoTimeout));
  for (const auto& record : edge().access_log()) EXPECT_EQ(record.get("close"), "no_targets");
}

TEST_F(StateFile, SavedTargetsOlderThanMaxStaleAreNotServed) {
  start_with_echo_backend({"--state-file", path_});
  ASSERT_TRUE(run_until([&] { return !file_text().empty(); }, 5s));

  dns().stop();
  restart_edge({"--state-file", path_, "--max-stale", "1ms"});
  EXPECT_EQ(greeting_through_edge(), "<no greeting>");
  EXPECT_TRUE(logged("are older than --max-stale 1ms: not used"));
}

TEST_F(StateFile, TheFirstAnswerAfterTheOutageReplacesTheSavedTargets) {
  const Backend& old_backend = add_greet_echo("old");
  const Backend& new_backend = add_greet_echo("new");
  DnsRecords before;
  add_srv(before, old_backend);
  start_dns(before);
  start_edge({"--state-file", path_});
  ASSERT_TRUE(run_until([&] { return file_names(old_backend); }, 5s)) << file_text();

  dns().stop();
  restart_edge({"--state-file", path_});
  ASSERT_EQ(greeting_through_edge(), "old");  // served from the file

  DnsRecords after;
  add_srv(after, new_backend);
  dns().restart(after);
  // Refreshes run every 1-2 s while DNS fails (--min-refresh 1s, doubling to --max-refresh 2s).
  EXPECT_TRUE(run_until([&] { return greeting_through_edge() == "new"; }, 10s));
  const auto counts = spread(5);
  EXPECT_EQ(counts, (std::map<std::string, int>{{"new", 5}})) << describe(counts);
  EXPECT_TRUE(logged("replaces the saved targets"));
  EXPECT_TRUE(run_until([&] { return file_names(new_backend) && !file_names(old_backend); }, 5s))
      << file_text();
}

TEST_F(StateFile, ACorruptFileIsIgnoredWithAWarningAndOverwrittenOnceDnsAnswers) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "edge-connector-targets 1\nsaved-at 2025-11-25T15:05:27.142Z\nquery " << kService
        << " srv -\ntarget 10 10 x 127.0.0.1:";  // cut short
  }
  const Backend& backend = start_with_echo_backend({"--state-file", path_});
  EXPECT_TRUE(logged("discovery: state file " + path_ + " ignored: truncated"));
  EXPECT_EQ(greeting_through_edge(), "echo");
  EXPECT_TRUE(run_until([&] { return file_names(backend); }, 5s)) << file_text();
}

TEST_F(StateFile, AFailingWriteIsOneWarningPerDistinctErrorAndForwardingGoesOn) {
  const Backend& first = add_greet_echo("first");
  const Backend& second = add_greet_echo("second");
  DnsRecords one;
  add_srv(one, first);
  start_dns(one);
  start_edge({"--state-file", path_});
  ASSERT_TRUE(run_until([&] { return file_names(first); }, 5s)) << file_text();

  // The path becomes a non-empty directory: every rename over it fails, the same way (even
  // for root, which writes into read-only directories).
  std::filesystem::remove(path_);
  std::filesystem::create_directories(path_ + "/blocker");
  DnsRecords both = one;
  add_srv(both, second);
  dns().restart(both);
  ASSERT_TRUE(run_until([&] { return logged("cannot write state file"); }, 10s));
  dns().restart(one);  // a second change: a second failed write, the same error
  ASSERT_TRUE(run_until([&] { return logged("discovery: target removed"); }, 10s));
  EXPECT_EQ(greeting_through_edge(), "first");
  std::size_t warnings = 0;
  for (const auto& line : edge().stderr_lines()) {
    warnings += line.find("cannot write state file") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(warnings, 1u);
  EXPECT_TRUE(logged("rename over " + path_));
}

}  // namespace
}  // namespace edge::test
