#include "private_network.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "subprocess.h"
#include "unique_fd.h"

namespace edge::test {

void enter_private_network() {
  if (::geteuid() != 0) {
    throw std::runtime_error(
        "the fault suite needs root (CAP_SYS_ADMIN for a network namespace, CAP_NET_ADMIN for "
        "iptables): run it as root, e.g. `sudo ctest --test-dir build -L fault`");
  }
  if (::unshare(CLONE_NEWNET) != 0) {
    throw std::runtime_error(std::string("unshare(CLONE_NEWNET) failed: ") + std::strerror(errno) +
                             " (a container without CAP_SYS_ADMIN cannot run the fault suite)");
  }
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (!s.valid() || ::ioctl(s.get(), SIOCGIFFLAGS, &request) != 0) {
    throw std::runtime_error(std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno));
  }
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &request) != 0) {
    throw std::runtime_error(std::string("bringing lo up: ") + std::strerror(errno));
  }
}

void run_iptables(const std::vector<std::string>& args) {
  // Debian puts it in /usr/sbin, which a non-login PATH may lack.
  const char* program =
      ::access("/usr/sbin/iptables", X_OK) == 0 ? "/usr/sbin/iptables" : "iptables";
  std::vector<std::string> argv = {program, "-w"};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess iptables(SubprocessOptions{.argv = argv});
  const auto status = iptables.wait_exit(std::chrono::seconds(20));
  if (status != 0) {
    std::string err;
    for (const auto& line : iptables.lines_err()) err += "\n  " + line;
    throw std::runtime_error(iptables.command_line() + " failed (status " +
                             (status ? std::to_string(*status) : "none") + "):" + err +
                             "\n(is the Debian package iptables installed? scripts/install-deps)");
  }
}

DropRule::DropRule(std::vector<std::string> match) : match_(std::move(match)) {
  std::vector<std::string> args = {"-A", "INPUT"};
  args.insert(args.end(), match_.begin(), match_.end());
  args.insert(args.end(), {"-j", "DROP"});
  run_iptables(args);
  active_ = true;
}

DropRule::~DropRule() {
  try {
    remove();
  } catch (...) {  // the namespace ends with the process anyway
  }
}

void DropRule::remove() {
  if (!active_) return;
  active_ = false;
  std::vector<std::string> args = {"-D", "INPUT"};
  args.insert(args.end(), match_.begin(), match_.end());
  args.insert(args.end(), {"-j", "DROP"});
  run_iptables(args);
}

}  // namespace edge::test
