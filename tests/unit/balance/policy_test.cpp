// --balance names: the four policies parse back from their names, in any letter case, and
// nothing else parses.
#include "balance/policy.h"

#include <gtest/gtest.h>

namespace edge::balance {
namespace {

TEST(PolicyTest, EveryPolicyParsesBackFromItsName) {
  for (const auto policy :
       {Policy::Random, Policy::RoundRobin, Policy::LeastConnections, Policy::SourceHash}) {
    EXPECT_EQ(parsePolicy(toString(policy)), policy) << toString(policy);
  }
}

TEST(PolicyTest, NamesAreTheDocumentedLowerCaseWords) {
  EXPECT_EQ(toString(Policy::Random), "random");
  EXPECT_EQ(toString(Policy::RoundRobin), "round-robin");
  EXPECT_EQ(toString(Policy::LeastConnections), "least-connections");
  EXPECT_EQ(toString(Policy::SourceHash), "source-hash");
}

TEST(PolicyTest, ParsingIgnoresLetterCase) {
  EXPECT_EQ(parsePolicy("Round-Robin"), Policy::RoundRobin);
  EXPECT_EQ(parsePolicy("LEAST-CONNECTIONS"), Policy::LeastConnections);
  EXPECT_EQ(parsePolicy("Source-Hash"), Policy::SourceHash);
  EXPECT_EQ(parsePolicy("RANDOM"), Policy::Random);
}

TEST(PolicyTest, AnythingElseIsRejected) {
  for (const char* text : {"", "roundrobin", "round_robin", "least-conn", "leastconn", "hash",
                           "source", " random", "random ", "random\n", "weighted"}) {
    EXPECT_FALSE(parsePolicy(text).has_value()) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace edge::balance
