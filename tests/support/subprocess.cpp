#include "subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "run_until.h"
#include "socket_util.h"

extern char** environ;

namespace edge::test {
namespace {

std::size_t index_of(Stream stream) {
  return stream == Stream::out ? 0 : 1;
}

// Resolved before fork(): after it the child may only make async-signal-safe calls.
std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  throw std::runtime_error("program not found in PATH: " + name);
}

std::vector<std::string> build_env(const SubprocessOptions& options) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    bool drop = options.set_env.contains(key);
    for (const auto& unset : options.unset_env) drop = drop || unset == key;
    if (!drop) env.push_back(entry);
  }
  for (const auto& [key, value] : options.set_env) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int report_fd) {
  const int err = errno;
  [[maybe_unused]] const ssize_t n = ::write(report_fd, &err, sizeof(err));
  ::_exit(127);
}

}  // namespace

Subprocess::Subprocess(SubprocessOptions options) : argv_(options.argv) {
  if (argv_.empty()) throw std::invalid_argument("Subprocess: empty argv");
  const std::string program = find_program(argv_[0]);
  std::vector<std::string> args = argv_;
  std::vector<std::string> env = build_env(options);
  std::vector<char*> c_args = c_strings(args);
  std::vector<char*> c_env = c_strings(env);

  int out[2], err[2], report[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 ||
      ::pipe2(report, O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  UniqueFd out_w(out[1]), err_w(err[1]), report_r(report[0]), report_w(report[1]);
  pipes_[0].reset(out[0]);
  pipes_[1].reset(err[0]);
  UniqueFd dev_null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report_w.get());
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive exec
    if (::dup2(dev_null.get(), STDIN_FILENO) < 0 ||
        ::dup2(options.stdout_fd >= 0 ? options.stdout_fd : out_w.get(), STDOUT_FILENO) < 0 ||
        ::dup2(err_w.get(), STDERR_FILENO) < 0) {
      child_fail(report_w.get());
    }
    // Nothing else the test holds may reach the program (as under a service manager): an
    // inherited listening socket, say, would stay open in the child after the test closed it.
    // Close-on-exec rather than closed, so the report pipe still works until exec.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) child_fail(report_w.get());
    ::execve(program.c_str(), c_args.data(), c_env.data());
    child_fail(report_w.get());
  }

  out_w.reset();
  err_w.reset();
  report_w.reset();
  int child_errno = 0;
  ssize_t n = 0;
  do {  // returns 0 (EOF) as soon as exec succeeds and closes the CLOEXEC pipe
    n = ::read(report_r.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error("cannot execute " + program + ": " + std::strerror(child_errno));
  }
  readers_[0] = std::thread([this] { read_loop(Stream::out, pipes_[0].get()); });
  readers_[1] = std::thread([this] { read_loop(Stream::err, pipes_[1].get()); });
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !try_reap()) {
    ::kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(5));
  }
  stop_readers_ = true;  // a grandchild may still hold a pipe open: do not wait for EOF
  for (auto& reader : readers_) {
    if (reader.joinable()) reader.join();
  }
}

std::string Subprocess::command_line() const {
  std::string out;
  for (const auto& arg : argv_) out += (out.empty() ? "" : " ") + arg;
  return out;
}

void Subprocess::read_loop(Stream stream, int fd) {
  const std::size_t index = index_of(stream);
  std::string partial;
  char buffer[4096];
  while (!stop_readers_) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 50);  // bounded so that stop_readers_ is seen
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    partial.append(buffer, static_cast<std::size_t>(n));
    std::lock_guard lock(mutex_);
    for (std::size_t nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n')) {
      lines_[index].push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
    }
  }
  std::lock_guard lock(mutex_);
  if (!partial.empty()) lines_[index].push_back(partial);
  eof_[index] = true;
}

std::vector<std::string> Subprocess::lines(Stream stream) const {
  std::lock_guard lock(mutex_);
  return lines_[index_of(stream)];
}

std::size_t Subprocess::count_lines(Stream stream, std::string_view substring) const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& line : lines_[index_of(stream)]) {
    if (line.find(substring) != std::string::npos) ++count;
  }
  return count;
}

std::optional<std::string> Subprocess::wait_for_line(Stream stream, std::string_view substring,
                                                     std::chrono::milliseconds deadline) const {
  std::optional<std::string> found;
  run_until(
      [&] {
        std::lock_guard lock(mutex_);
        for (const auto& line : lines_[index_of(stream)]) {
          if (line.find(substring) != std::string::npos) {
            found = line;
            return true;
          }
        }
        return false;
      },
      deadline, std::chrono::milliseconds(5));
  return found;
}

bool Subprocess::try_reap() {
  std::lock_guard lock(mutex_);
  if (status_) return true;
  if (pid_ <= 0) return false;
  int raw = 0;
  const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r != pid_) return false;
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return true;
}

std::optional<int> Subprocess::wait_exit(std::chrono::milliseconds deadline) {
  if (!run_until([this] { return try_reap(); }, deadline, std::chrono::milliseconds(5))) {
    return std::nullopt;
  }
  run_until([this] { return eof_[0] && eof_[1]; }, std::chrono::seconds(2),
            std::chrono::milliseconds(5));
  std::lock_guard lock(mutex_);
  return status_;
}

bool Subprocess::running() {
  return pid_ > 0 && !try_reap();
}

void Subprocess::send_signal(int signal_number) {
  if (running()) ::kill(pid_, signal_number);
}

std::optional<int> Subprocess::terminate(std::chrono::milliseconds grace) {
  send_signal(SIGTERM);
  if (auto status = wait_exit(grace)) return status;
  send_signal(SIGKILL);
  return wait_exit(std::chrono::seconds(5));
}

}  // namespace edge::test
