// PipePair: a real pipe standing in for stdout or stderr, at a chosen capacity (a small one
// fills after a few lines: a log collector that stopped reading).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

#include "unique_fd.h"

namespace edge::test {

struct PipePair {
  UniqueFd read;
  UniqueFd write;
};

// Close-on-exec ends; the kernel rounds `capacity` up to whole pages.
inline PipePair make_pipe(int capacity) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  PipePair pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  if (::fcntl(fds[1], F_SETPIPE_SZ, capacity) < 0) throw std::runtime_error("F_SETPIPE_SZ failed");
  return pipe;
}

}  // namespace edge::test
