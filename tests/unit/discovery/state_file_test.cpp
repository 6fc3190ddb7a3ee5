// The state file (--state-file): a round trip keeps every target exactly; every kind of bad file
// is refused with a reason, never a crash; the atomic save leaves one whole file or the old one.
#include "discovery/state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

namespace edge::discovery {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using SystemClock = std::chrono::system_clock;

net::Endpoint ep(const char* address, uint16_t port) {
  return {asio::ip::make_address(address), port};
}

const StateQuery kQuery{"_edge._tcp.svc.test", config::RecordType::Srv, std::nullopt};
const auto kSavedAt = SystemClock::time_point(1'764'083'127'142ms);  // 2025-11-25T15:05:27.142Z

std::vector<balance::Target> sampleTargets() {
  std::vector<balance::Target> targets = {
      {"b1.svc.test", 10, 60, {ep("10.0.1.12", 2222), ep("2001:db8::12", 2222)}},
      {"b2.svc.test", 10, 0, {ep("10.0.1.13", 2222)}},
      {"backup.svc.test", 20, 1, {ep("192.0.2.7", 22)}},
  };
  balance::canonicalize(targets);
  return targets;
}

// A well-formed file with these target lines (and a matching end count).
std::string fileWith(const std::vector<std::string>& target_lines,
                     const std::string& query_line = "query _edge._tcp.svc.test srv -") {
  std::string text =
      "edge-connector-targets 1\nsaved-at 2025-11-25T15:05:27.142Z\n" + query_line + "\n";
  for (const auto& l : target_lines) text += l + "\n";
  return text + "end " + std::to_string(target_lines.size()) + "\n";
}

TEST(StateFileTest, RoundTripKeepsEveryTargetAndTheTime) {
  const auto text = formatStateFile(sampleTargets(), kQuery, kSavedAt);
  std::string error;
  const auto saved = parseStateFile(text, kQuery, error);
  ASSERT_TRUE(saved) << error << "\n" << text;
  EXPECT_EQ(saved->targets, sampleTargets());
  EXPECT_EQ(saved->saved_at, kSavedAt);
}

TEST(StateFileTest, TheFormatIsTheDocumentedOne) {
  EXPECT_EQ(formatStateFile(sampleTargets(), kQuery, kSavedAt),
            "edge-connector-targets 1\n"
            "saved-at 2025-11-25T15:05:27.142Z\n"
            "query _edge._tcp.svc.test srv -\n"
            "target 10 60 b1.svc.test 10.0.1.12:2222 [2001:db8::12]:2222\n"
            "target 10 0 b2.svc.test 10.0.1.13:2222\n"
            "target 20 1 backup.svc.test 192.0.2.7:22\n"
            "end 3\n");
}

TEST(StateFileTest, NamesWithAnyBytesRoundTripAsOneField) {
  // Names come from DNS wire data: spaces, backslashes, a dot inside a label, a NUL byte.
  std::vector<balance::Target> targets = {
      {std::string("odd name\\046x\0y\n", 16), 1, 1, {ep("10.0.0.1", 80)}},
      {"\xff\x01.test", 2, 2, {ep("10.0.0.2", 80)}},
  };
  balance::canonicalize(targets);
  const auto text = formatStateFile(targets, kQuery, kSavedAt);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 6) << text;  // no line broken
  EXPECT_EQ(text.find('\0'), std::string::npos);
  std::string error;
  const auto saved = parseStateFile(text, kQuery, error);
  ASSERT_TRUE(saved) << error;
  EXPECT_EQ(saved->targets, targets);
}

TEST(StateFileTest, AQueryOfOtherCaseIsTheSameQuery) {
  std::string error;
  const StateQuery upper{"_EDGE._tcp.SVC.test", config::RecordType::Srv, std::nullopt};
  EXPECT_TRUE(parseStateFile(formatStateFile(sampleTargets(), kQuery, kSavedAt), upper, error))
      << error;
}

TEST(StateFileTest, AFileForAnotherQueryIsRefusedNamingBoth) {
  const auto text = formatStateFile(sampleTargets(), kQuery, kSavedAt);
  struct Case {
    StateQuery query;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"_other._tcp.svc.test", config::RecordType::Srv, std::nullopt},
       "saved for _edge._tcp.svc.test srv -, not _other._tcp.svc.test srv -"},
      {{"_edge._tcp.svc.test", config::RecordType::A, 22}, "not _edge._tcp.svc.test a 22"},
      {{"_edge._tcp.svc.test", config::RecordType::Srv, 636}, "not _edge._tcp.svc.test srv 636"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(parseStateFile(text, c.query, error));
    EXPECT_THAT(error, HasSubstr(c.want));
  }
}

struct BadFile {
  std::string name;
  std::string text;
  std::string why;  // part of the error
};

void PrintTo(const BadFile& c, std::ostream* os) {
  *os << c.name;
}

class BadStateFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadStateFileTest, IsRefusedWithAReason) {
  std::string error;
  EXPECT_FALSE(parseStateFile(GetParam().text, kQuery, error));
  EXPECT_THAT(error, HasSubstr(GetParam().why));
}

const std::string kGood = fileWith({"target 10 10 b1.svc.test 127.0.0.1:4000"});

std::vector<BadFile> badFiles() {
  std::vector<BadFile> cases = {
      {"Empty", "", "empty"},
      {"OtherFile", "hello world\n", "not an edge-connector state file"},
      {"MagicWithoutVersion", "edge-connector-targets\n", "not an edge-connector state file"},
      {"NewerVersion", "edge-connector-targets 2\n", "format version '2'"},
      {"HugeVersion", "edge-connector-targets 99999999999999999999\n", "format version"},
      {"NoSavedAt", "edge-connector-targets 1\nquery x srv -\n", "saved-at"},
      {"BadSavedAt", "edge-connector-targets 1\nsaved-at yesterday\n", "saved-at"},
      {"ImpossibleDate", "edge-connector-targets 1\nsaved-at 2025-13-45T99:00:00.000Z\n",
       "saved-at"},
      {"NoQuery", "edge-connector-targets 1\nsaved-at 2025-11-25T15:05:27.142Z\nend 0\n", "query"},
      {"OtherTarget", fileWith({"target 10 10 b1 127.0.0.1:4000"}, "query _x._tcp.test srv -"),
       "saved for _x._tcp.test"},
      {"UnknownType", fileWith({}, "query _edge._tcp.svc.test mx -"), "query"},
      {"NoTargets", fileWith({}), "holds no target"},
      {"TruncatedInATarget", kGood.substr(0, kGood.find("127.0.0.1") + 4),
       "truncated: the last line has no newline"},
      {"TruncatedBeforeEnd", kGood.substr(0, kGood.find("end ")), "truncated"},
      {"TruncatedEndLine", kGood.substr(0, kGood.size() - 1), "truncated"},
      {"EndCountTooLarge",
       fileWith({"target 10 10 b1.svc.test 127.0.0.1:4000"})
           .replace(kGood.find("end 1"), 5, "end 99999999999999999999"),
       "end line"},
      {"EndCountTooSmall", kGood.substr(0, kGood.find("end 1")) + "end 0\n", "end line"},
      {"TextAfterEnd", kGood + "target 1 1 x 10.0.0.1:80\n", "after the end line"},
      {"NulByte", kGood.substr(0, 60) + std::string(1, '\0') + kGood.substr(60), "NUL"},
      {"PriorityTooLarge", fileWith({"target 65536 10 b1 127.0.0.1:4000"}), "priority"},
      {"NegativeWeight", fileWith({"target 10 -1 b1 127.0.0.1:4000"}), "priority and weight"},
      {"NoEndpoint", fileWith({"target 10 10 b1"}), "expected 'target"},
      {"BadEndpoint", fileWith({"target 10 10 b1 localhost:80"}),
       "'localhost:80' is not ADDR:PORT"},
      {"EndpointWithoutPort", fileWith({"target 10 10 b1 127.0.0.1"}), "is not ADDR:PORT"},
      {"PortTooLarge", fileWith({"target 10 10 b1 127.0.0.1:65536"}), "is not ADDR:PORT"},
      {"DoubleSpace", fileWith({"target 10 10  b1 127.0.0.1:80"}), "malformed target name"},
      {"BadEscape", fileWith({"target 10 10 b\\9x 127.0.0.1:80"}), "malformed target name"},
      {"EscapeAbove255", fileWith({"target 10 10 b\\999 127.0.0.1:80"}), "malformed target name"},
      {"EscapeCutShort", fileWith({"target 10 10 b\\04 127.0.0.1:80"}), "malformed target name"},
      {"ControlByteInName", fileWith({"target 10 10 b\x01 127.0.0.1:80"}), "malformed target name"},
      {"CarriageReturn", fileWith({"target 10 10 b1 127.0.0.1:80\r"}), "is not ADDR:PORT"},
      {"UnknownLine", fileWith({"weight 10"}), "expected 'target"},
  };
  // Caps: more than 1 MiB; more targets or endpoints than any real answer holds.
  cases.push_back({"LargerThanOneMiB", kGood + std::string(kMaxStateFileBytes, '#'), "1 MiB"});
  std::vector<std::string> many(kMaxStateTargets + 1, "target 1 1 t 10.0.0.1:80");
  cases.push_back({"TooManyTargets", fileWith(many), "more than 4096 targets"});
  std::string wide = "target 1 1 t";
  for (size_t i = 0; i <= kMaxStateEndpointsPerTarget; ++i) wide += " 10.0.0.1:80";
  cases.push_back({"TooManyEndpoints", fileWith({wide}), "more than 1024 endpoints"});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Cases, BadStateFileTest, ::testing::ValuesIn(badFiles()),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(StateFileTest, HostileAddressesParseSoTheTargetFilterCanNameThem) {
  // Port 0 and 0.0.0.0 are well-formed: discovery drops them with the DNS answers' filter
  // (target_filter.h) and logs why, rather than refusing the whole file here.
  std::string error;
  const auto saved =
      parseStateFile(fileWith({"target 1 1 t 0.0.0.0:80 127.0.0.1:0 [::]:80"}), kQuery, error);
  ASSERT_TRUE(saved) << error;
  ASSERT_EQ(saved->targets.size(), 1u);
  EXPECT_EQ(saved->targets[0].endpoints.size(), 3u);
}

TEST(StateFileTest, TimestampsRoundTripInUtcWithMilliseconds) {
  EXPECT_EQ(formatTimestamp(kSavedAt), "2025-11-25T15:05:27.142Z");
  EXPECT_EQ(parseTimestamp("2025-11-25T15:05:27.142Z"), kSavedAt);
  EXPECT_EQ(parseTimestamp("1970-01-01T00:00:00.000Z"), SystemClock::time_point{});
  for (const char* bad : {"2025-11-25T15:05:27Z", "2025-11-25 15:05:27.142Z",
                          "2025-11-25T15:05:27.142", "+025-11-25T15:05:27.142Z", "",
                          // past what system_clock (int64 nanoseconds, to 2262) can hold
                          "9999-12-31T23:59:59.999Z", "2263-01-01T00:00:00.000Z"}) {
    EXPECT_FALSE(parseTimestamp(bad)) << bad;
  }
}

// ---- the file system part: a private directory per test.

class StateFileDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "state_file_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/targets.state";
  }
  void TearDown() override {
    ::chmod(dir_.c_str(), 0700);
    std::filesystem::remove_all(dir_);
  }
  void writeRaw(const std::string& text) { std::ofstream(path_, std::ios::binary) << text; }
  size_t filesInDir() const {
    return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                             std::filesystem::directory_iterator()));
  }

  std::string dir_;
  std::string path_;
};

TEST_F(StateFileDiskTest, SaveThenLoadGivesTheTargetsBackAndLeavesNoTemporaryFile) {
  ASSERT_EQ(saveStateFile(path_, formatStateFile(sampleTargets(), kQuery, kSavedAt)), "");
  const auto loaded = loadStateFile(path_, kQuery);
  ASSERT_EQ(loaded.outcome, LoadedState::Outcome::Loaded) << loaded.message;
  EXPECT_EQ(loaded.saved.targets, sampleTargets());
  EXPECT_EQ(filesInDir(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(StateFileDiskTest, SavingAgainReplacesTheWholeFile) {
  ASSERT_EQ(saveStateFile(path_, formatStateFile(sampleTargets(), kQuery, kSavedAt)), "");
  const std::vector<balance::Target> one = {{"only.svc.test", 1, 1, {ep("10.9.9.9", 9)}}};
  ASSERT_EQ(saveStateFile(path_, formatStateFile(one, kQuery, kSavedAt + 1h)), "");
  const auto loaded = loadStateFile(path_, kQuery);
  ASSERT_EQ(loaded.outcome, LoadedState::Outcome::Loaded) << loaded.message;
  EXPECT_EQ(loaded.saved.targets, one);
  EXPECT_EQ(loaded.saved.saved_at, kSavedAt + 1h);
}

TEST_F(StateFileDiskTest, AMissingFileIsMissingNotInvalid) {
  const auto loaded = loadStateFile(path_, kQuery);
  EXPECT_EQ(loaded.outcome, LoadedState::Outcome::Missing);
}

TEST_F(StateFileDiskTest, ACorruptFileIsInvalidWithTheParsersReason) {
  writeRaw("edge-connector-targets 1\nsaved-at 2025-11-25T15:05:27.142Z\nquery _edge");
  const auto loaded = loadStateFile(path_, kQuery);
  EXPECT_EQ(loaded.outcome, LoadedState::Outcome::Invalid);
  EXPECT_THAT(loaded.message, HasSubstr("truncated"));
}

TEST_F(StateFileDiskTest, AnOversizedFileIsRefusedAfterReadingOnlyPastTheCap) {
  writeRaw(kGood + std::string(4 * kMaxStateFileBytes, '#'));
  const auto loaded = loadStateFile(path_, kQuery);
  EXPECT_EQ(loaded.outcome, LoadedState::Outcome::Invalid);
  EXPECT_THAT(loaded.message, HasSubstr("1 MiB"));
}

TEST_F(StateFileDiskTest, ADirectoryOrADeviceIsNotAStateFile) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  EXPECT_EQ(loadStateFile(path_, kQuery).outcome, LoadedState::Outcome::Invalid);
  // A FIFO would block a plain open(); the loader opens non-blocking and refuses it.
  const auto fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto loaded = loadStateFile(fifo, kQuery);
  EXPECT_EQ(loaded.outcome, LoadedState::Outcome::Invalid);
  EXPECT_THAT(loaded.message, HasSubstr("not a regular file"));
}

TEST_F(StateFileDiskTest, AnUnwritableDirectoryIsAnErrorMessageAndTheOldFileStays) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into read-only directories";
  ASSERT_EQ(saveStateFile(path_, formatStateFile(sampleTargets(), kQuery, kSavedAt)), "");
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
  const auto error = saveStateFile(path_, "anything");
  EXPECT_THAT(error, HasSubstr("Permission denied"));
  EXPECT_THAT(error, HasSubstr(path_ + ".XXXXXX"));  // the same words every time
  EXPECT_EQ(loadStateFile(path_, kQuery).outcome, LoadedState::Outcome::Loaded);
}

TEST_F(StateFileDiskTest, AMissingDirectoryIsAnErrorMessage) {
  const auto error = saveStateFile(dir_ + "/gone/targets.state", "anything");
  EXPECT_THAT(error, HasSubstr("No such file or directory"));
}

TEST_F(StateFileDiskTest, AWriteThatFailsIsAnErrorMessageAndTheOldFileStays) {
  // RLIMIT_FSIZE makes write() fail (EFBIG) as a full disk would, even for root.
  ASSERT_EQ(saveStateFile(path_, formatStateFile(sampleTargets(), kQuery, kSavedAt)), "");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit tiny = old;
  tiny.rlim_cur = 16;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  const auto error = saveStateFile(path_, std::string(4096, 'x'));
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_THAT(error, HasSubstr("write " + path_ + ".XXXXXX: File too large"));
  EXPECT_EQ(filesInDir(), 1u);  // the temporary file is gone
  const auto loaded = loadStateFile(path_, kQuery);
  ASSERT_EQ(loaded.outcome, LoadedState::Outcome::Loaded) << loaded.message;
  EXPECT_EQ(loaded.saved.targets, sampleTargets());
}

TEST_F(StateFileDiskTest, RenamingOverADirectoryFailsAndLeavesNoTemporaryFile) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((path_ + "/inside").c_str(), 0700), 0);
  const auto error = saveStateFile(path_, formatStateFile(sampleTargets(), kQuery, kSavedAt));
  EXPECT_THAT(error, HasSubstr("rename over " + path_));
  EXPECT_EQ(filesInDir(), 1u);
}

}  // namespace
}  // namespace edge::discovery
