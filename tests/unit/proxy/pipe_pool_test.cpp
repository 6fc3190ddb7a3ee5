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
