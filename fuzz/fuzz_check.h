#pragma once
// An invariant a fuzz target checks: a failure aborts, which libFuzzer reports as a crash and
// saves the input (the replay driver just dies), so logic bugs are found as well as crashes.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
