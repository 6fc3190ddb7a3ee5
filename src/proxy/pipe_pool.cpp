#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <new>
#include <optional>

namespace edge::proxy {
namespace {

constexpr size_t kDefaultPipeSize = 64 * 1024;  // what the kernel gives a new pipe
// After the kernel shrank a new pipe, this many acquires copy without trying another one
// (unless a pipe comes back first): five syscalls per chunk would be a waste while it refuses.
constexpr uint32_t kSkipAfterRefusal = 64;

std::optional<uint64_t> readNumber(const char* path) {
  std::ifstream in(path);
  uint64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

bool hasEffectiveCapability(int cap) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[cap / 32].effective & (1u << (cap % 32))) != 0;
}

}  // namespace

PipeLimits PipeLimits::ofThisProcess() {
  PipeLimits limits;
  if (const long page = ::sysconf(_SC_PAGESIZE); page > 0) limits.page = static_cast<size_t>(page);
  if (auto v = readNumber("/proc/sys/fs/pipe-max-size")) limits.max_size = *v;
  if (auto v = readNumber("/proc/sys/fs/pipe-user-pages-soft")) limits.user_soft_pages = *v;
  // The kernel's own test (pipe_is_unprivileged_user); in a user namespace it asks the initial
  // namespace, which capget cannot tell: the size check on every new pipe covers that case.
  limits.privileged =
      hasEffectiveCapability(CAP_SYS_RESOURCE) || hasEffectiveCapability(CAP_SYS_ADMIN);
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  limits.memory = pages > 0 ? static_cast<uint64_t>(pages) * limits.page : 0;
  return limits;
}

size_t pipeSizeFor(size_t asked, const PipeLimits& limits) {
  const size_t pages = std::max<size_t>(1, (asked + limits.page - 1) / limits.page);
  size_t size = std::bit_ceil(pages) * limits.page;
  if (!limits.privileged && limits.max_size >= limits.page) size = std::min(size, limits.max_size);
  return size;
}

uint64_t pipeBudgetBytes(const PipeLimits& limits) {
  if (!limits.privileged && limits.user_soft_pages > 0) {
    return limits.user_soft_pages * limits.page / 4 * 3;
  }
  return limits.memory / 16;
}

PipeBudget& PipeBudget::process() {
  static PipeBudget budget = [] {
    const PipeLimits limits = PipeLimits::ofThisProcess();
    const uint64_t bytes = pipeBudgetBytes(limits);
    if (!limits.privileged && limits.user_soft_pages > 0) {
      spdlog::info(
          "pipes: at most {} KiB in all (3/4 of fs.pipe-user-pages-soft, {} pages; "
          "an unprivileged user's pipes share it); beyond it bytes are copied",
          bytes / 1024, limits.user_soft_pages);
    }
    return PipeBudget(bytes);
  }();
  return budget;
}

bool PipeBudget::take(size_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (used + bytes > limit_) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void PipeBudget::give(size_t bytes) {
  used_.fetch_sub(bytes, std::memory_order_relaxed);
}

PipePool::PipePool(size_t pipe_size, size_t keep, PipeBudget& budget, const PipeLimits& limits)
    : size_(pipe_size ? pipeSizeFor(pipe_size, limits) : 0), budget_(budget), keep_(keep) {
  if (size_ == 0) return;
  // One pipe ready from the start (and an early word in the log if the kernel shrinks pipes).
  Pipe first = makePipe();
  if (first.valid()) release(std::move(first));
}

PipePool::~PipePool() {
  for (size_t i = 0; i < free_.size(); ++i) budget_.give(size_);
}

Pipe PipePool::makePipe() {
  if (skip_new_ > 0) {
    --skip_new_;
    return {};
  }
  if (!budget_.take(size_)) return {};
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    budget_.give(size_);
    return {};
  }
  Pipe pipe{net::Fd(fds[0]), net::Fd(fds[1])};
  if (size_ != kDefaultPipeSize) ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(size_));
  // Past the user's budget the kernel makes 2-page pipes and refuses to grow them; such a pipe
  // must never reach the pool, where it would slow every later stream.
  const int real = ::fcntl(fds[1], F_GETPIPE_SZ);
  if (real < 0 || static_cast<size_t>(real) < size_) {
    budget_.give(size_);
    if (refused_++ == 0) {
      spdlog::warn(
          "pipes: the kernel gave a {}-byte pipe instead of {} (the user's "
          "fs.pipe-user-pages-soft budget is spent); copying instead",
          real, size_);
    }
    skip_new_ = kSkipAfterRefusal;
    return {};
  }
  return pipe;
}

Pipe PipePool::acquire() {
  Pipe pipe;
  if (!free_.empty()) {
    pipe = std::move(free_.back());
    free_.pop_back();
  } else {
    pipe = makePipe();
  }
  if (pipe.valid()) ++handed_out_;
  return pipe;
}

void PipePool::release(Pipe pipe) {
  skip_new_ = 0;  // a pipe came back: budget may be free again
  if (free_.size() < keep_) {
    free_.push_back(std::move(pipe));
  } else {
    discard(std::move(pipe));
  }
}

void PipePool::discard(Pipe pipe) {
  if (!pipe.valid()) return;
  pipe = Pipe{};
  budget_.give(size_);
}

char* BufferPool::acquire() {
  if (!free_.empty()) {
    char* buffer = free_.back().release();
    free_.pop_back();
    return buffer;
  }
  return new (std::nothrow) char[kSize];
}

void BufferPool::release(char* buffer) {
  std::unique_ptr<char[]> owned(buffer);
  if (free_.size() < keep_) free_.push_back(std::move(owned));
}

}  // namespace edge::proxy
