#pragma once
// How the process spends its descriptor limit (RLIMIT_NOFILE): a fixed reserve for event
// loops, listeners, the resolver and health checks; up to a quarter of the rest for splice
// pipes (two descriptors each); the remainder for connections (two sockets each). The default
// --max-connections comes from here, so a flood of clients meets close=limit, never a
// process that cannot open a socket.

#include <cstddef>
#include <cstdint>

namespace edge::app {

struct DescriptorPlan {
  uint64_t limit = 0;        // RLIMIT_NOFILE (soft, after raising it)
  uint64_t reserve = 0;      // descriptors kept for everything but connections and pipes
  uint64_t pipes = 0;        // splice pipes the process may hold at once
  uint64_t connections = 0;  // the default --max-connections (at least 1)
};

// `pipe_budget_bytes`: the pipe capacity the kernel lets this process have (proxy/pipe_pool.h);
// `pipe_size` 0: no pipes.
DescriptorPlan planDescriptors(uint64_t limit, unsigned workers, size_t pipe_size,
                               uint64_t pipe_budget_bytes);

// Raises the soft RLIMIT_NOFILE to the hard one (the default 1024 is far too low: every
// connection costs two descriptors) and returns the soft limit in force.
uint64_t raiseDescriptorLimit();

}  // namespace edge::app
