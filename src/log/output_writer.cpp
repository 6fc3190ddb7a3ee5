#include "log/output_writer.h"

#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace edge::log {
namespace {

constexpr int kPollSliceMs = 20;  // how often a waiting writer asks whether to go on

}  // namespace

size_t wholeLines(std::string_view data, size_t limit) {
  if (data.size() <= limit) return data.size();
  const size_t last_end = data.rfind('\n', limit - 1);
  return last_end == std::string_view::npos ? limit : last_end + 1;
}

OutputWriter::OutputWriter(int fd) : fd_(fd) {
  struct stat st {};
  if (::fstat(fd_, &st) == 0) {
    is_socket_ = S_ISSOCK(st.st_mode);
    is_regular_ = S_ISREG(st.st_mode);
  }
}

bool OutputWriter::waitForRoom(Clock::time_point last_progress, const KeepWaiting& keep_waiting) {
  pollfd p{fd_, POLLOUT, 0};
  for (int timeout_ms = 0;; timeout_ms = kPollSliceMs) {  // asks before the first wait
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) {
      failed_ = true;
      error_ = errno;
      return false;
    }
    if (!keep_waiting(Clock::now() - last_progress)) return false;
  }
}

size_t OutputWriter::write(std::string_view data, const KeepWaiting& keep_waiting) {
  size_t done = 0;
  auto last_progress = Clock::now();
  while (done < data.size() && !failed_) {
    if (!is_regular_ && !waitForRoom(last_progress, keep_waiting)) break;
    const std::string_view rest = data.substr(done);
    const ssize_t n = is_socket_
                          ? ::send(fd_, rest.data(), rest.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                      : is_regular_ ? ::write(fd_, rest.data(), rest.size())
                                    : ::write(fd_, rest.data(), wholeLines(rest, PIPE_BUF));
    if (n > 0) {
      done += static_cast<size_t>(n);
      last_progress = Clock::now();
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    failed_ = true;
    error_ = n < 0 ? errno : EIO;
  }
  return done;
}

}  // namespace edge::log
