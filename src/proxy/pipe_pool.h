#pragma once
// Per-worker pools of what a direction needs only while bytes move: kernel pipes for splice()
// and copy buffers for the fallback. An idle connection holds neither; a direction takes one
// when bytes arrive and gives it back, empty, when its socket runs dry. Worker thread only.
//
// Pipes cost kernel memory: each pins up to its size while bytes are in it, and for a user
// without CAP_SYS_RESOURCE the kernel charges every pipe's full size, idle or not, to the user's
// fs.pipe-user-pages-soft budget (16,384 pages: 64 MiB); past it, new pipes get 2 pages and
// F_SETPIPE_SZ fails. So the pipes of the whole process share a PipeBudget (a slice of that
// budget, or of memory when the process is privileged), every new pipe is checked for the size
// it really got, and a pipe the kernel shrank is closed at once: the chunk is copied instead.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/fd.h"

namespace edge::proxy {

struct Pipe {
  net::Fd read;
  net::Fd write;
  bool valid() const { return read.valid(); }
};

// What the kernel allows this process in pipes (read once from /proc/sys/fs and capget).
struct PipeLimits {
  size_t page = 4096;
  size_t max_size = 1 << 20;       // fs.pipe-max-size: an unprivileged F_SETPIPE_SZ's maximum
  size_t user_soft_pages = 16384;  // fs.pipe-user-pages-soft (0: no limit)
  bool privileged = false;         // CAP_SYS_RESOURCE or CAP_SYS_ADMIN: neither limit applies
  uint64_t memory = 0;             // physical memory, bytes

  static PipeLimits ofThisProcess();
};

// The capacity a pipe asked for `asked` bytes gets: the kernel rounds up to a power of two
// pages; an unprivileged process cannot go above fs.pipe-max-size.
size_t pipeSizeFor(size_t asked, const PipeLimits& limits);

// Bytes the process's pipes may hold in all: 3/4 of the user's soft budget when it applies (the
// rest is left to the user's other processes, e.g. a second instance during a restart), else
// 1/16 of physical memory.
uint64_t pipeBudgetBytes(const PipeLimits& limits);

// Pipe capacity handed out, shared by every worker's pool. Thread-safe.
class PipeBudget {
 public:
  explicit PipeBudget(uint64_t bytes) : limit_(bytes) {}
  // The process's budget (pipeBudgetBytes of this process), made on first use.
  static PipeBudget& process();

  bool take(size_t bytes);
  void give(size_t bytes);
  uint64_t limit() const { return limit_; }
  // Lowers the limit (the descriptor limit allows fewer pipes). Before any pipe is taken.
  void capTo(uint64_t bytes) { limit_ = std::min(limit_, bytes); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

class PipePool {
 public:
  // `pipe_size` 0: no pipes (every direction copies). `keep`: idle pipes kept for reuse. Pipes
  // (idle ones included) are charged to `budget`.
  explicit PipePool(size_t pipe_size, size_t keep = 256, PipeBudget& budget = PipeBudget::process(),
                    const PipeLimits& limits = PipeLimits::ofThisProcess());
  ~PipePool();
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;

  bool enabled() const { return size_ > 0; }
  // Capacity of the pipes handed out (the kernel rounds the asked size up to pages).
  size_t pipeSize() const { return size_; }

  // An idle pipe, or a new one of the full size; invalid (copy instead) if the budget is spent,
  // the kernel gave a smaller pipe, or descriptors ran out.
  Pipe acquire();
  // Takes back a pipe that holds no bytes.
  void release(Pipe pipe);
  // Closes a pipe that may hold bytes (never reused).
  void discard(Pipe pipe);

  size_t idle() const { return free_.size(); }
  // Pipes handed out so far (reused or new).
  uint64_t handedOut() const { return handed_out_; }
  // New pipes closed because the kernel gave less than pipeSize().
  uint64_t refused() const { return refused_; }

 private:
  Pipe makePipe();

  size_t size_;
  PipeBudget& budget_;
  uint64_t handed_out_ = 0;
  uint64_t refused_ = 0;
  uint32_t skip_new_ = 0;  // after a refusal: acquires that try no new pipe
  size_t keep_;
  std::vector<Pipe> free_;
};

class BufferPool {
 public:
  static constexpr size_t kSize = 16 * 1024;
  explicit BufferPool(size_t keep = 256) : keep_(keep) {}

  // nullptr when out of memory.
  char* acquire();
  void release(char* buffer);

  size_t idle() const { return free_.size(); }

 private:
  size_t keep_;
  std::vector<std::unique_ptr<char[]>> free_;
};

}  // namespace edge::proxy
