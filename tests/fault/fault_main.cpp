// The fault suite's main: every test process first moves into a network namespace of its own
// (before gtest or any test starts a thread), so the faults it injects stay inside it.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <iostream>

#include "private_network.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Listing the tests (gtest_discover_tests does it at build or test time) needs no namespace.
  if (!GTEST_FLAG_GET(list_tests)) {
    try {
      edge::test::enter_private_network();
    } catch (const std::exception& e) {
      // A failure, not a skip: CI runs as root, and a suite that silently skips proves nothing.
      // (Exit before gtest runs: a gtest skip would match ctest's skip pattern.)
      std::cerr << "FAULT SUITE NOT RUN: " << e.what() << "\n";
      return 1;
    }
    // Thousands of client sockets in this process (the 5,000-connection case).
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
      limit.rlim_cur = limit.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
  }
  return RUN_ALL_TESTS();
}
