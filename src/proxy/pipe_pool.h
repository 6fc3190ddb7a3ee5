#pragma once
// Per-worker pools of what a direction needs only while bytes move: kernel pipes for splice()
// and copy buffers for the fallback. An idle connection holds neither; a direction takes one
// when bytes arrive and gives it back, empty, when its socket runs dry. Worker thread only.

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

class PipePool {
 public:
  // `pipe_size` 0: no pipes (every direction copies). `keep`: idle pipes kept for reuse.
  explicit PipePool(size_t pipe_size, size_t keep = 256);

  bool enabled() const { return size_ > 0; }
  // Capacity of the pipes handed out (the kernel rounds the asked size up to pages).
  size_t pipeSize() const { return size_; }

  // An idle pipe, or a new one; invalid if the kernel refused (out of descriptors).
  Pipe acquire();
  // Takes back a pipe that holds no bytes. A pipe with bytes in it must be closed instead.
  void release(Pipe pipe);

  size_t idle() const { return free_.size(); }
  // Pipes handed out so far (reused or new).
  uint64_t handedOut() const { return handed_out_; }

 private:
  size_t size_;
  uint64_t handed_out_ = 0;
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
