// Health shared by every worker (--workers 2): a refused target is ejected once for the whole
// process, no worker tries it during its back-off, and it is readmitted when it comes back.
// With --health-check-expect, a backend that accepts but never greets leaves the selection
// and comes back once it greets again.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "edge_fixture.h"
#include "free_port.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

size_t lines_with(const std::vector<std::string>& lines, const std::string& needle) {
  size_t n = 0;
  for (const auto& line : lines) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

using SharedHealth = EdgeFixture;

TEST_F(SharedHealth, ARefusedTargetIsEjectedOnceForEveryWorkerAndReadmittedWhenItReturns) {
  Backend& good = add_greet_echo("good");
  const std::uint16_t port = refusing_port();
  DnsRecords records;
  add_srv(records, good);
  records.srv.push_back({.name = kService, .target = "back.svc.test", .port = port});
  records.hosts.push_back({"back.svc.test", "127.0.0.1"});
  start_dns(std::move(records));
  start_edge({"--workers", "2", "--refused-backoff", "4s", "--eject-max", "4s"});

  // Well within the back-off: about half the clients would pick the refused target.
  constexpr int kClients = 40;
  auto counts = spread(kClients);
  EXPECT_EQ(counts["good"], kClients) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(kClients, kIoTimeout));
  int failed_attempts = 0;  // only the refused target fails: each extra attempt went there
  for (const auto& record : edge().access_log()) {
    failed_attempts += static_cast<int>(record.integer("attempts").value_or(0)) - 1;
  }
  std::cout << "attempts to the refused target during its back-off, both workers: "
            << failed_attempts << "\n";
  EXPECT_EQ(failed_attempts, 1);
  const std::string target = "target 127.0.0.1:" + std::to_string(port) + " (back.svc.test)";
  EXPECT_EQ(lines_with(edge().stderr_lines(), target + " ejected: Connection refused; back-off 4s"),
            1u);

  // It comes back: after the back-off one connection probes it and readmits it for everyone.
  add_backend({.id = "back", .port = port});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return greeting_through_edge() == "back"; }, 15s));
  std::cout << "served by the returned target after "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - t0)
                   .count()
            << " ms\n";
  ASSERT_TRUE(run_until(
      [&] { return lines_with(edge().stderr_lines(), target + " readmitted") == 1; }, 5s));
  EXPECT_EQ(lines_with(edge().stderr_lines(), "ejected"), 1u);
  EXPECT_EQ(lines_with(edge().stderr_lines(), "fail open"), 0u);
}

// A loopback server that accepts every connection and, while `greet` is set, sends "<id>\n"
// and closes after the client's EOF; otherwise holds the connection silently. Owns its thread
// and sockets.
class MuteableBackend {
 public:
  explicit MuteableBackend(std::string id) : id_(std::move(id)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 128) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      throw std::runtime_error("muteable backend: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~MuteableBackend() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) ::close(fd);
    ::close(listener_);
  }
  std::uint16_t port() const { return port_; }
  void greet(bool on) { greet_ = on; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (!greet_) {
        held_.push_back(fd);  // silent: the port accepts, the service hangs
        continue;
      }
      const std::string line = id_ + "\n";
      (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_WR);
      held_.push_back(fd);  // closed at the end; the client's EOF is enough for it
    }
  }

  std::string id_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> greet_{false};
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

TEST_F(SharedHealth, ASilentBackendLeavesTheSelectionAndComesBackWhenItGreets) {
  Backend& speaking = add_greet_echo("svc-a");
  MuteableBackend muted("svc-b");
  DnsRecords records;
  add_srv(records, speaking);
  records.srv.push_back({.name = kService, .target = "b.svc.test", .port = muted.port()});
  records.hosts.push_back({"b.svc.test", "127.0.0.1"});
  start_dns(std::move(records));
  start_edge({"--workers", "2", "--health-check-interval", "200ms", "--health-check-timeout",
              "300ms", "--health-check-expect", "svc-"});

  const std::string target = "target 127.0.0.1:" + std::to_string(muted.port()) + " (b.svc.test)";
  ASSERT_TRUE(run_until(
      [&] {
        return lines_with(edge().stderr_lines(),
                          target + " ejected: health check: no greeting within 300ms") == 1;
      },
      10s));
  // Out of the selection: a TCP connect to it would succeed, but no client is sent there.
  constexpr int kClients = 30;
  auto counts = spread(kClients);
  EXPECT_EQ(counts["svc-a"], kClients) << describe(counts);
  EXPECT_EQ(lines_with(edge().stderr_lines(), target + " readmitted"), 0u);

  muted.greet(true);
  ASSERT_TRUE(run_until(
      [&] { return lines_with(edge().stderr_lines(), target + " readmitted") == 1; }, 10s));
  ASSERT_TRUE(run_until([&] { return greeting_through_edge() == "svc-b"; }, 10s));
  EXPECT_EQ(lines_with(edge().stderr_lines(), target + " ejected"),
            1u);  // one line, not one per check
}

}  // namespace
}  // namespace edge::test
