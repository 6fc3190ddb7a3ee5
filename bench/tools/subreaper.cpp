// subreaper: runs a command as a child subreaper (prctl PR_SET_CHILD_SUBREAPER).
//
//   subreaper COMMAND [ARGS...]
//
// A process per connection proxy like socat leaves orphans: a connection's socat exits (its
// half-close timeout) while the second socat it started through EXEC still runs. An orphan is
// re-parented to the nearest subreaper, normally init, and its CPU time then never reaches the
// proxy's cutime/cstime, where the bench reads it. Under this wrapper orphans are re-parented
// to, and reaped by, the wrapper, so every descendant's CPU time ends up in the wrapper's
// cutime/cstime. Exits with the command's status once the command and every orphan are gone.
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: subreaper COMMAND [ARGS...]\n");
    return 2;
  }
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    std::fprintf(stderr, "subreaper: prctl: %s\n", std::strerror(errno));
    return 1;
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "subreaper: fork: %s\n", std::strerror(errno));
    return 1;
  }
  if (child == 0) {
    ::execvp(argv[1], argv + 1);
    std::fprintf(stderr, "subreaper: %s: %s\n", argv[1], std::strerror(errno));
    ::_exit(127);
  }
  int exit_code = 0;
  for (;;) {
    int status = 0;
    pid_t pid = ::wait(&status);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the command and every orphan are gone
    }
    if (pid == child) exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exit_code;
}
