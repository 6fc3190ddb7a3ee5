// The fault suite's own network: each test process runs in a network namespace it creates at
// start-up (so packets can be dropped with iptables without touching the host), and its
// loopback is the only interface. The namespace ends with the process; ctest runs every case
// as its own process, so every case starts with a fresh one.
#pragma once

#include <string>
#include <vector>

namespace edge::test {

// Moves the calling thread (call it before any other thread exists: threads started later
// inherit it) into a new network namespace and brings its `lo` up. Throws std::runtime_error
// with a message saying what is missing (root: CAP_SYS_ADMIN and CAP_NET_ADMIN).
void enter_private_network();

// An iptables DROP rule in the INPUT chain of the private namespace (on loopback every packet
// passes INPUT once), removed by the destructor or remove(). `match` is the rule's match part,
// e.g. {"-p", "tcp", "--dport", "4000", "--syn"}. Throws if iptables fails.
class DropRule {
 public:
  explicit DropRule(std::vector<std::string> match);
  ~DropRule();
  DropRule(const DropRule&) = delete;
  DropRule& operator=(const DropRule&) = delete;

  void remove();

 private:
  std::vector<std::string> match_;
  bool active_ = false;
};

// Runs iptables with `args` to its end; throws with its stderr if it fails.
void run_iptables(const std::vector<std::string>& args);

}  // namespace edge::test
