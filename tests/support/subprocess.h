// Subprocess: one child process (fork/exec) with its stdout and stderr captured line by line.
//
// Owns the child and two reader threads (one per pipe); the destructor SIGKILLs and reaps the
// child and joins the readers. All public members may be called from any thread. The child
// gets PR_SET_PDEATHSIG(SIGKILL): it dies with the *thread* that started it, so start children
// from the test's main thread (gtest runs tests there).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "unique_fd.h"

namespace edge::test {

enum class Stream { out, err };

struct SubprocessOptions {
  std::vector<std::string> argv{};               // argv[0] is the program; PATH is searched
  std::map<std::string, std::string> set_env{};  // added to (or replacing) the inherited env
  std::vector<std::string> unset_env{};          // removed from the inherited env
  int stdout_fd = -1;  // >= 0: the child's stdout is this descriptor (not captured)
};

class Subprocess {
 public:
  // Starts the child; throws std::runtime_error if it cannot be executed.
  explicit Subprocess(SubprocessOptions options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  std::string command_line() const;

  // Complete lines seen so far (without the '\n'); a last unterminated line is added at EOF.
  std::vector<std::string> lines(Stream stream) const;
  std::vector<std::string> lines_out() const { return lines(Stream::out); }
  std::vector<std::string> lines_err() const { return lines(Stream::err); }
  std::size_t count_lines(Stream stream, std::string_view substring) const;

  // The first line (old or new) containing `substring`, or nullopt after `deadline`.
  std::optional<std::string> wait_for_line(Stream stream, std::string_view substring,
                                           std::chrono::milliseconds deadline) const;

  // Exit status once the child has ended: the exit code, or 128 + signal number if a signal
  // killed it (the shell's convention). Also waits (briefly) until both pipes reached EOF so
  // that the child's last lines are in the buffers.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);
  bool running();

  // SIGTERM, then SIGKILL if it has not ended after `grace`. Returns the exit status.
  std::optional<int> terminate(std::chrono::milliseconds grace = std::chrono::seconds(3));
  void send_signal(int signal_number);

 private:
  void read_loop(Stream stream, int fd);
  bool try_reap();

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  std::array<UniqueFd, 2> pipes_;  // read ends: [out, err]
  mutable std::mutex mutex_;
  std::array<std::vector<std::string>, 2> lines_;  // guarded by mutex_
  std::optional<int> status_;                      // guarded by mutex_
  std::array<std::atomic<bool>, 2> eof_{};
  std::atomic<bool> stop_readers_{false};
  std::array<std::thread, 2> readers_;
};

}  // namespace edge::test
