#include "health/greeting.h"

#include <gtest/gtest.h>

#include <ostream>
#include <vector>

namespace edge::health {
namespace {

using Verdict = Greeting::Verdict;

struct Case {
  const char* name;
  const char* expect;
  std::vector<std::string> pieces;
  Verdict verdict;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class GreetingCases : public ::testing::TestWithParam<Case> {};

TEST_P(GreetingCases, JudgesThePiecesAsTheyArrive) {
  const auto& c = GetParam();
  Greeting greeting(c.expect);
  Verdict verdict = Verdict::Pending;
  for (const auto& piece : c.pieces) verdict = greeting.feed(piece);
  EXPECT_EQ(verdict, c.verdict);
  EXPECT_EQ(greeting.verdict(), c.verdict);
}

INSTANTIATE_TEST_SUITE_P(
    Greeting, GreetingCases,
    ::testing::Values(
        Case{"WholeGreetingPasses", "SSH-2.0-", {"SSH-2.0-OpenSSH_9.2\r\n"}, Verdict::Passed},
        Case{"ExactlyTheTextPasses", "+OK", {"+OK"}, Verdict::Passed},
        Case{"ByteByBytePasses", "220 ", {"2", "2", "0", " ", "mail"}, Verdict::Passed},
        Case{"SplitAcrossPiecesPasses", "SSH-2.0-", {"SS", "H-2", ".0-x"}, Verdict::Passed},
        Case{"APrefixIsStillPending", "SSH-2.0-", {"SSH-2", ".0"}, Verdict::Pending},
        Case{"WrongFirstByteFailsAtOnce", "SSH-2.0-", {"H"}, Verdict::Failed},
        Case{"WrongByteInALaterPieceFails", "SSH-2.0-", {"SSH-", "1.99-"}, Verdict::Failed},
        Case{"NothingYetIsPending", "+OK", {}, Verdict::Pending},
        Case{"AfterAVerdictMoreBytesChangeNothing", "+OK", {"+OK", "-ERR"}, Verdict::Passed}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(Greeting, SaysWhatCameInsteadEscaped) {
  Greeting greeting("SSH-2.0-");
  ASSERT_EQ(greeting.feed("xy\r\n\x01z..."), Verdict::Failed);
  EXPECT_EQ(greeting.mismatch(), R"(greeting "xy\r\n\x01z.." does not start with "SSH-2.0-")");
}

TEST(Greeting, SaysWhatWasMissingAtTheEnd) {
  Greeting silent("SSH-2.0-");
  EXPECT_EQ(silent.timedOut("2s"), "no greeting within 2s");
  EXPECT_EQ(silent.closedEarly(), R"(closed without a greeting (expected "SSH-2.0-"))");
  Greeting partial("SSH-2.0-");
  partial.feed("SSH");
  EXPECT_EQ(partial.wanted(), 5u);
  EXPECT_EQ(partial.timedOut("2s"), R"(only "SSH" within 2s (expected "SSH-2.0-"))");
  EXPECT_EQ(partial.closedEarly(), R"(closed after "SSH" (expected "SSH-2.0-"))");
}

}  // namespace
}  // namespace edge::health
