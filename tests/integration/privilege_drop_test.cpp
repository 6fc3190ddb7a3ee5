// --user: started as root, the daemon binds a port below 1024, then runs as that user with only
// CAP_NET_BIND_SERVICE, which still lets a reload bind another port below 1024.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "config_file_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

// A port below 1024 that 127.0.0.1 can bind now (tests run as root), other than `not_this`.
std::uint16_t free_privileged_port(std::uint16_t not_this = 0) {
  for (std::uint16_t port = 990; port > 900; --port) {
    if (port == not_this) continue;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return 0;
}

// The "Uid:" or "Gid:" line of /proc/PID/status: "real effective saved fs".
std::string status_line(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return line;
  }
  return "";
}

class PrivilegeDrop : public ConfigFileFixture {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CI runs the suite as root)";
    ConfigFileFixture::SetUp();
  }
  void write_config(const std::string& routes) {
    write_file("dns_servers = [\"" + dns().address() + "\"]\nuser = \"nobody\"\nworkers = 2\n\n" +
               routes);
  }
};

TEST_F(PrivilegeDrop, RunsAsNobodyAfterBindingBelow1024AndAReloadBindsAnotherSuchPort) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto first = free_privileged_port();
  const auto second = free_privileged_port(first);
  ASSERT_NE(first, 0);
  ASSERT_NE(second, 0);
  write_config(route("one", first, kService));
  start_on_file();

  const pid_t pid = edge().process().pid();
  EXPECT_EQ(status_line(pid, "Uid:"), "Uid:\t65534\t65534\t65534\t65534");
  // Only CAP_NET_BIND_SERVICE (bit 10) is left, effective and permitted.
  EXPECT_EQ(status_line(pid, "CapEff:"), "CapEff:\t0000000000000400");
  EXPECT_EQ(status_line(pid, "CapPrm:"), "CapPrm:\t0000000000000400");
  EXPECT_EQ(greeting(first), "b1");
  bool logged = false;
  for (const auto& l : edge().stderr_lines()) {
    logged = logged || l.find("running as user nobody (uid 65534") != std::string::npos;
  }
  EXPECT_TRUE(logged);

  write_config(route("one", first, kService) + route("two", second, kService));
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  ASSERT_TRUE(run_until(
      [&] {
        for (const auto& l : edge().stderr_lines()) {
          if (l.find("reload: added route two") != std::string::npos) return true;
        }
        return false;
      },
      5s));
  EXPECT_EQ(greeting(second), "b1");
  EXPECT_EQ(greeting(first), "b1");
  // Every worker thread runs as nobody too.
  EXPECT_EQ(status_line(pid, "Uid:"), "Uid:\t65534\t65534\t65534\t65534");
}

TEST_F(PrivilegeDrop, AnUnknownUserStopsStartUpInsteadOfRunningAsRoot) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto run =
      run_edge_to_exit({"--listen", "127.0.0.1:0", "--target", kService, "--dns-server",
                        dns().address(), "--user", "no-such-user-edge"},
                       {});
  ASSERT_TRUE(run.status.has_value()) << "still running as root";
  EXPECT_NE(*run.status, 0);
  std::ostringstream err;
  for (const auto& l : run.err) err << l << "\n";
  EXPECT_NE(err.str().find("no-such-user-edge"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace edge::test
