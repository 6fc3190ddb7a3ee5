// Close reasons: the merge rules, classification of I/O errors, and the access-log words.
#include "proxy/close_reason.h"

#include <gtest/gtest.h>

#include <asio/error.hpp>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

namespace edge::proxy {
namespace {

using R = CloseReason;

const std::vector<R> kAll = {R::None,        R::ClientClosed,  R::TargetClosed,  R::ClientReset,
                             R::TargetReset, R::ClientTimeout, R::TargetTimeout, R::ConnectFailed,
                             R::NoTargets,   R::IdleTimeout,   R::Shutdown};

bool isClean(R r) {
  return r == R::ClientClosed || r == R::TargetClosed;
}

TEST(CloseReasonTest, MergeTable) {
  struct Case {
    R current, incoming, want;
  };
  const std::vector<Case> cases = {
      {R::None, R::None, R::None},
      {R::None, R::ClientClosed, R::ClientClosed},
      {R::TargetClosed, R::None, R::TargetClosed},
      {R::ClientClosed, R::TargetClosed, R::ClientClosed},  // first clean close wins
      {R::TargetClosed, R::ClientClosed, R::TargetClosed},
      {R::ClientClosed, R::TargetReset, R::TargetReset},  // a reset outranks a clean close
      {R::TargetClosed, R::ClientReset, R::ClientReset},
      {R::ClientReset, R::TargetClosed, R::ClientReset},  // ...and is not undone by one
      {R::ClientReset, R::TargetReset, R::ClientReset},   // first reset wins
      {R::TargetReset, R::ClientReset, R::TargetReset},
      {R::ClientClosed, R::IdleTimeout, R::IdleTimeout},  // a timeout outranks a clean close
      {R::IdleTimeout, R::ClientClosed, R::IdleTimeout},
      {R::IdleTimeout, R::TargetReset, R::IdleTimeout},
      {R::TargetClosed, R::Shutdown, R::Shutdown},
      {R::Shutdown, R::ClientReset, R::Shutdown},
      {R::ClientClosed, R::TargetTimeout, R::TargetTimeout},  // a dead peer outranks a FIN
      {R::TargetClosed, R::ClientTimeout, R::ClientTimeout},
      {R::ClientTimeout, R::TargetReset, R::ClientTimeout},  // the first failure wins: the
      {R::TargetTimeout, R::ClientReset, R::TargetTimeout},  // reset we sent is not the story
      {R::ClientReset, R::TargetTimeout, R::ClientReset},
      {R::TargetTimeout, R::ClientClosed, R::TargetTimeout},
      {R::ClientTimeout, R::Shutdown, R::ClientTimeout},
      {R::ConnectFailed, R::ClientClosed, R::ConnectFailed},
      {R::NoTargets, R::ClientReset, R::NoTargets},
  };
  for (const auto& [current, incoming, want] : cases) {
    EXPECT_EQ(merge(current, incoming), want) << toString(current) << " + " << toString(incoming);
  }
}

TEST(CloseReasonTest, MergeRulesHoldForEveryPair) {
  for (R a : kAll) {
    EXPECT_EQ(merge(R::None, a), a) << toString(a);  // None is neutral on both sides
    EXPECT_EQ(merge(a, R::None), a) << toString(a);
    EXPECT_EQ(merge(a, a), a) << toString(a);
    for (R b : kAll) {
      if (a == R::None || b == R::None) continue;
      const R want = isClean(a) && !isClean(b) ? b : a;
      EXPECT_EQ(merge(a, b), want) << toString(a) << " + " << toString(b);
    }
  }
}

TEST(CloseReasonTest, Classify) {
  struct Case {
    Side side;
    std::error_code ec;
    R want;
  };
  const std::vector<Case> cases = {
      {Side::Client, asio::error::eof, R::ClientClosed},
      {Side::Target, asio::error::eof, R::TargetClosed},
      {Side::Client, asio::error::connection_reset, R::ClientReset},
      {Side::Target, asio::error::connection_reset, R::TargetReset},
      {Side::Client, asio::error::broken_pipe, R::ClientReset},
      {Side::Target, asio::error::broken_pipe, R::TargetReset},
      {Side::Target, asio::error::timed_out, R::TargetTimeout},
      {Side::Client, asio::error::timed_out, R::ClientTimeout},
      // The pump's errors come from errno (net::systemError): the system category.
      {Side::Client, std::error_code(ETIMEDOUT, std::system_category()), R::ClientTimeout},
      {Side::Target, std::error_code(ETIMEDOUT, std::system_category()), R::TargetTimeout},
      {Side::Target, std::make_error_code(std::errc::timed_out), R::TargetTimeout},
      {Side::Client, std::make_error_code(std::errc::connection_reset), R::ClientReset},
      {Side::Target, std::error_code(EHOSTUNREACH, std::system_category()), R::TargetReset},
  };
  for (const auto& [side, ec, want] : cases) {
    EXPECT_EQ(classify(side, ec), want) << ec.message();
  }
}

TEST(CloseReasonTest, AResetOrATimedOutPeerResetsTheOtherSideAndNothingElseDoes) {
  for (R r : kAll) {
    const bool want = r == R::ClientReset || r == R::TargetReset || r == R::ClientTimeout ||
                      r == R::TargetTimeout;
    EXPECT_EQ(resetsOtherSide(r), want) << toString(r);
  }
}

TEST(CloseReasonTest, ATimedOutPeerIsLoggedWithTheKernelsWords) {
  // The access log's error= is the message of the error the pump saw.
  EXPECT_EQ(std::error_code(ETIMEDOUT, std::system_category()).message(), "Connection timed out");
}

TEST(CloseReasonTest, ToStringOfEveryValue) {
  struct Case {
    R reason;
    std::string_view want;
  };
  const std::vector<Case> cases = {
      {R::None, "open"},
      {R::ClientClosed, "client_closed"},
      {R::TargetClosed, "target_closed"},
      {R::ClientReset, "client_reset"},
      {R::TargetReset, "target_reset"},
      {R::ClientTimeout, "client_timeout"},
      {R::TargetTimeout, "target_timeout"},
      {R::ConnectFailed, "connect_failed"},
      {R::NoTargets, "no_targets"},
      {R::IdleTimeout, "idle_timeout"},
      {R::Shutdown, "shutdown"},
  };
  ASSERT_EQ(cases.size(), kAll.size());
  std::set<std::string_view> seen;
  for (const auto& [reason, want] : cases) {
    EXPECT_EQ(toString(reason), want);
    seen.insert(toString(reason));
  }
  EXPECT_EQ(seen.size(), kAll.size());  // one distinct word each
}

}  // namespace
}  // namespace edge::proxy
