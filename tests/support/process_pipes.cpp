#include "process_pipes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "unique_fd.h"

namespace edge::test {

std::optional<std::map<std::string, std::size_t>> pipe_sizes_of(pid_t pid) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  std::map<std::string, std::size_t> sizes;  // both ends of a pipe count once
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || fd <= 2) continue;
    char target[64] = {};
    const std::string link = dir + "/" + e->d_name;
    if (::readlink(link.c_str(), target, sizeof target - 1) <= 0) continue;
    const std::string name = target;
    if (name.rfind("pipe:", 0) != 0 || sizes.contains(name)) continue;
    UniqueFd copy(
        static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), static_cast<int>(fd), 0)));
    if (!copy.valid()) continue;  // closed in between
    const int size = ::fcntl(copy.get(), F_GETPIPE_SZ);
    if (size > 0) sizes[name] = static_cast<std::size_t>(size);
  }
  ::closedir(d);
  return sizes;
}

}  // namespace edge::test
