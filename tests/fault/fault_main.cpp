// The fault suite's main: every test process first moves into a network namespace of its own
// (before gtest or any test starts a thread), so the faults it injects stay inside it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <iostream>

#include "private_network.h"

namespace {

class PrivateNetworkEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    // Not when listing the tests (gtest_discover_tests lists them as any user).
    try {
      edge::test::enter_private_network();
    } catch (const std::exception& e) {
      // A failure, not a skip: CI runs as root, and a suite that silently skips proves nothing.
      GTEST_FAIL() << "FAULT SUITE NOT RUN: " << e.what();
    }
    // Thousands of client sockets in this process (case 7).
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new PrivateNetworkEnvironment);
  return RUN_ALL_TESTS();
}
