#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <new>

namespace edge::proxy {
namespace {

constexpr size_t kDefaultPipeSize = 64 * 1024;  // what the kernel gives a new pipe

Pipe makePipe(size_t size) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
  Pipe pipe{net::Fd(fds[0]), net::Fd(fds[1])};
  // Best effort: above fs.pipe-max-size an unprivileged process is refused and keeps 64 KiB.
  if (size != kDefaultPipeSize) ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(size));
  return pipe;
}

}  // namespace

PipePool::PipePool(size_t pipe_size, size_t keep) : size_(pipe_size), keep_(keep) {
  if (size_ == 0) return;
  // Learn the real capacity once (rounded up to pages, or refused) and keep that pipe.
  Pipe first = makePipe(size_);
  if (!first.valid()) return;  // out of descriptors now; later acquires will retry
  const int real = ::fcntl(first.write.get(), F_GETPIPE_SZ);
  if (real > 0) size_ = static_cast<size_t>(real);
  release(std::move(first));
}

Pipe PipePool::acquire() {
  Pipe pipe;
  if (!free_.empty()) {
    pipe = std::move(free_.back());
    free_.pop_back();
  } else {
    pipe = makePipe(size_);
  }
  if (pipe.valid()) ++handed_out_;
  return pipe;
}

void PipePool::release(Pipe pipe) {
  if (free_.size() < keep_) free_.push_back(std::move(pipe));
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
