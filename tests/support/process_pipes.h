// What pipes another process holds, and how large each is: the descriptors in /proc/PID/fd that
// are pipes, duplicated into this process with pidfd_getfd() (needs ptrace rights over the
// process: root, or the same user) so F_GETPIPE_SZ can be asked. Any thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace edge::test {

// The capacity of every distinct pipe `pid` holds in descriptors above 2 (stdin, stdout and
// stderr are the test's own pipes), by name ("pipe:[inode]"); nullopt if the process cannot be
// inspected.
std::optional<std::map<std::string, std::size_t>> pipe_sizes_of(pid_t pid);

}  // namespace edge::test
