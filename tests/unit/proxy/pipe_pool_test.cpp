#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace edge::proxy {
namespace {

TEST(PipePool, RoundsTheAskedSizeUpToWhatTheKernelGives) {
  PipePool pool(100 * 1024);
  EXPECT_EQ(pool.pipeSize(), 128u * 1024);  // the kernel rounds to a power of two pages
  Pipe pipe = pool.acquire();
  ASSERT_TRUE(pipe.valid());
  EXPECT_EQ(::fcntl(pipe.write.get(), F_GETPIPE_SZ), 128 * 1024);
  EXPECT_TRUE(::fcntl(pipe.read.get(), F_GETFL) & O_NONBLOCK);
}

TEST(PipePool, ReusesReleasedPipesAndKeepsAtMostItsLimit) {
  PipePool pool(64 * 1024, /*keep=*/2);
  EXPECT_EQ(pool.idle(), 1u);  // the one it measured the size with
  Pipe a = pool.acquire(), b = pool.acquire(), c = pool.acquire();
  const int a_fd = a.read.get();
  EXPECT_EQ(pool.idle(), 0u);
  pool.release(std::move(a));
  pool.release(std::move(b));
  pool.release(std::move(c));  // over the limit: closed
  EXPECT_EQ(pool.idle(), 2u);
  Pipe again = pool.acquire();
  Pipe first = pool.acquire();
  EXPECT_EQ(first.read.get(), a_fd);
}

TEST(PipePool, OffMeansNoPipes) {
  PipePool pool(0);
  EXPECT_FALSE(pool.enabled());
  EXPECT_EQ(pool.idle(), 0u);
}

// Issue 9: pipes under an unprivileged user. The sizes and budgets are pure decisions.
struct SizeCase {
  const char* name;
  size_t asked;
  bool privileged;
  size_t expected;
};

void PrintTo(const SizeCase& c, std::ostream* os) {
  *os << c.name;
}

class PipeSizeFor : public ::testing::TestWithParam<SizeCase> {};

TEST_P(PipeSizeFor, RoundsToPowerOfTwoPagesWithinWhatTheUserMayAsk) {
  PipeLimits limits;  // 4 KiB pages, fs.pipe-max-size 1 MiB
  limits.privileged = GetParam().privileged;
  EXPECT_EQ(pipeSizeFor(GetParam().asked, limits), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Table, PipeSizeFor,
    ::testing::Values(SizeCase{"OneByteIsOnePage", 1, false, 4096},
                      SizeCase{"OnePage", 4096, false, 4096},
                      SizeCase{"HundredKiBIs128KiB", 100 * 1024, false, 128 * 1024},
                      SizeCase{"OneMiB", 1 << 20, false, 1 << 20},
                      SizeCase{"UnprivilegedCappedAtPipeMaxSize", 16 << 20, false, 1 << 20},
                      SizeCase{"PrivilegedMayGoAbove", 16 << 20, true, 16 << 20},
                      SizeCase{"PrivilegedThreeMiBIsFour", 3 << 20, true, 4 << 20}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(PipeBudgetBytes, ThreeQuartersOfTheUsersSoftLimitWhenUnprivileged) {
  PipeLimits limits;
  limits.memory = 16ULL << 30;
  EXPECT_EQ(pipeBudgetBytes(limits), 48u << 20);  // 16,384 pages of 4 KiB: 64 MiB
  limits.user_soft_pages = 0;                     // no soft limit: memory is the limit
  EXPECT_EQ(pipeBudgetBytes(limits), 1u << 30);
  limits.user_soft_pages = 16384;
  limits.privileged = true;  // root's pipes are not charged to it
  EXPECT_EQ(pipeBudgetBytes(limits), 1u << 30);
}

TEST(PipePool, NeverHoldsMorePipesThanTheBudgetAllows) {
  PipeBudget budget(2 * 64 * 1024);
  PipePool pool(64 * 1024, 256, budget);
  EXPECT_EQ(budget.used(), 64u * 1024);  // the pool's first, idle pipe counts
  Pipe a = pool.acquire(), b = pool.acquire();
  ASSERT_TRUE(a.valid());
  ASSERT_TRUE(b.valid());
  EXPECT_FALSE(pool.acquire().valid()) << "a third pipe past the budget: copy instead";
  pool.discard(std::move(a));  // held bytes: closed, its share of the budget back
  EXPECT_EQ(budget.used(), 64u * 1024);
  Pipe c = pool.acquire();
  EXPECT_TRUE(c.valid());
  pool.release(std::move(b));
  pool.release(std::move(c));
  EXPECT_EQ(pool.idle(), 2u);
}

TEST(PipePool, SharesOneBudgetAcrossPools) {
  PipeBudget budget(3 * 64 * 1024);
  PipePool first(64 * 1024, 256, budget), second(64 * 1024, 256, budget);
  Pipe a = first.acquire(), b = second.acquire();
  EXPECT_TRUE(a.valid());
  EXPECT_TRUE(b.valid());
  Pipe c = first.acquire();  // both idle ones are out: a new one, the third in all
  EXPECT_TRUE(c.valid());
  EXPECT_FALSE(second.acquire().valid());
  first.release(std::move(a));
  first.release(std::move(c));
  second.release(std::move(b));
}

TEST(PipePool, ReleasingOverTheKeepLimitGivesTheBudgetBack) {
  PipeBudget budget(4 * 64 * 1024);
  {
    PipePool pool(64 * 1024, /*keep=*/1, budget);
    Pipe a = pool.acquire(), b = pool.acquire();
    pool.release(std::move(a));
    pool.release(std::move(b));  // over the limit: closed
    EXPECT_EQ(budget.used(), 64u * 1024);
  }
  EXPECT_EQ(budget.used(), 0u) << "a destroyed pool still charges its idle pipes";
}

TEST(BufferPool, HandsBackTheSameBuffer) {
  BufferPool pool(/*keep=*/1);
  char* a = pool.acquire();
  char* b = pool.acquire();
  ASSERT_NE(a, nullptr);
  pool.release(a);
  pool.release(b);  // over the limit: freed
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_EQ(pool.acquire(), a);
  pool.release(a);
}

}  // namespace
}  // namespace edge::proxy
