#include "app/privileges.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "net/fd.h"

namespace edge::app {
namespace {

using net::Fd;

// nobody/nogroup as Debian defines them.
constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr unsigned long long kNetBindService = 1ULL << 10;  // CAP_NET_BIND_SERVICE

TEST(ResolveIdentity, AUserNameGivesItsUidAndPrimaryGroup) {
  std::string error;
  const auto id = resolveIdentity("nobody", std::nullopt, error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->user, "nobody");
  EXPECT_EQ(id->uid, kNobody);
  EXPECT_EQ(id->gid, kNogroup);
  EXPECT_EQ(describe(*id), "user nobody (uid 65534, gid 65534)");
}

TEST(ResolveIdentity, ANumericUidFindsItsPasswdEntry) {
  std::string error;
  const auto id = resolveIdentity("65534", std::nullopt, error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->user, "nobody");
  EXPECT_EQ(id->uid, kNobody);
  EXPECT_EQ(id->gid, kNogroup);
}

TEST(ResolveIdentity, AGroupByNameOrNumberOverridesThePrimaryGroup) {
  std::string error;
  auto id = resolveIdentity("nobody", "daemon", error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->gid, 1u);  // Debian's daemon group
  id = resolveIdentity("nobody", "4242", error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->gid, 4242u);
}

TEST(ResolveIdentity, AUidWithoutPasswdEntryNeedsAGroup) {
  std::string error;
  EXPECT_FALSE(resolveIdentity("4242", std::nullopt, error));
  EXPECT_EQ(error,
            "--user '4242': uid 4242 has no passwd entry, so no primary group: give --group");
  const auto id = resolveIdentity("4242", "4243", error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(id->user, "4242");
  EXPECT_EQ(id->uid, 4242u);
  EXPECT_EQ(id->gid, 4243u);
}

TEST(ResolveIdentity, UnknownNamesAreErrorsNamingThem) {
  std::string error;
  EXPECT_FALSE(resolveIdentity("no-such-user-here", std::nullopt, error));
  EXPECT_EQ(error, "--user 'no-such-user-here': no such user");
  EXPECT_FALSE(resolveIdentity("nobody", "no-such-group-here", error));
  EXPECT_EQ(error, "--group 'no-such-group-here': no such group");
  EXPECT_FALSE(resolveIdentity("-1", std::nullopt, error));
  EXPECT_EQ(error, "--user '-1': no such user");
  EXPECT_FALSE(resolveIdentity("4294967295", std::nullopt, error));  // (uid_t)-1: "unchanged"
  EXPECT_EQ(error, "--user '4294967295': no such user");
}

TEST(ResolveIdentity, RootAndAGroupAloneAreRefused) {
  std::string error;
  EXPECT_FALSE(resolveIdentity("root", std::nullopt, error));
  EXPECT_EQ(error, "--user 'root': that is root, which keeps every privilege");
  EXPECT_FALSE(resolveIdentity("0", std::nullopt, error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(resolveIdentity(std::nullopt, "nogroup", error));
  EXPECT_EQ(error, "--group 'nogroup' needs --user");
}

TEST(ResolveIdentity, NeitherUserNorGroupMeansNothingToDo) {
  std::string error = "stale";
  EXPECT_FALSE(resolveIdentity(std::nullopt, std::nullopt, error));
  EXPECT_EQ(error, "");
}

// Runs `body` in a forked child (the test process never drops its own privileges) and returns
// what it reported: "" when every check passed, else the failures.
std::string inChild(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(fds[0]);
    const auto report = body();
    (void)!::write(fds[1], report.data(), report.size());
    _exit(0);
  }
  ::close(fds[1]);
  Fd reader(fds[0]);
  std::string report;
  pollfd p{reader.get(), POLLIN, 0};
  while (::poll(&p, 1, 10000) == 1) {
    char buf[512];
    const ssize_t n = ::read(reader.get(), buf, sizeof(buf));
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) report += " (child did not exit cleanly)";
  return report;
}

std::string statusField(const std::string& name) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(name + ":", 0) == 0) {
      const auto value = line.substr(name.size() + 1);
      const auto first = value.find_first_not_of(" \t");
      const auto last = value.find_last_not_of(" \t");
      return first == std::string::npos ? "" : value.substr(first, last - first + 1);
    }
  }
  return "";
}

// Binds a free port in 900-1000 on 127.0.0.1: "" on success, else why not.
std::string bindLowPort() {
  for (uint16_t port = 900; port <= 1000; ++port) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return "";
    if (errno != EADDRINUSE)
      return "bind port " + std::to_string(port) + ": " + std::strerror(errno);
  }
  return "no free port in 900-1000";
}

TEST(DropPrivileges, NobodyKeepsOnlyTheRightToBindLowPorts) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const auto report = inChild([] {
    std::string error;
    const auto id = resolveIdentity("nobody", std::nullopt, error);
    if (!id) return "resolve: " + error;
    if (!dropPrivileges(*id, error)) return "drop: " + error;
    std::string failures;
    const auto expect = [&](const std::string& field, const std::string& want) {
      const auto got = statusField(field);
      if (got != want) failures += field + " is '" + got + "', want '" + want + "'; ";
    };
    expect("Uid", "65534\t65534\t65534\t65534");
    expect("Gid", "65534\t65534\t65534\t65534");
    expect("Groups", "65534");
    const auto caps = [](unsigned long long v) {
      char buf[17];
      std::snprintf(buf, sizeof(buf), "%016llx", v);
      return std::string(buf);
    };
    expect("CapEff", caps(kNetBindService));
    expect("CapPrm", caps(kNetBindService));
    expect("CapInh", caps(0));
    expect("CapAmb", caps(0));
    if (const auto bind = bindLowPort(); !bind.empty()) failures += bind + "; ";
    if (::setuid(0) == 0) failures += "setuid(0) succeeded; ";
    if (::setgid(0) == 0) failures += "setgid(0) succeeded; ";
    return failures;
  });
  EXPECT_EQ(report, "");
}

TEST(DropPrivileges, ANumericUidAndGroupWork) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const auto report = inChild([] {
    std::string error;
    const auto id = resolveIdentity("4242", "4243", error);
    if (!id) return "resolve: " + error;
    if (!dropPrivileges(*id, error)) return "drop: " + error;
    std::string failures;
    if (statusField("Uid") != "4242\t4242\t4242\t4242") failures += "Uid " + statusField("Uid");
    if (statusField("Gid") != "4243\t4243\t4243\t4243") failures += "Gid " + statusField("Gid");
    if (const auto bind = bindLowPort(); !bind.empty()) failures += bind;
    return failures;
  });
  EXPECT_EQ(report, "");
}

TEST(DropPrivileges, RefusesWhileOtherThreadsRun) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  const auto report = inChild([] {
    int fds[2];
    if (::pipe(fds) != 0) return std::string("pipe");
    // Two threads besides main: more than any build allows (TSan's own thread is allowed).
    auto wait = [&] {
      char c;
      (void)!::read(fds[0], &c, 1);
    };
    std::thread first(wait);
    std::thread second(wait);
    std::string error;
    const bool dropped = dropPrivileges({"nobody", kNobody, kNogroup}, error);
    (void)!::write(fds[1], "xx", 2);
    first.join();
    second.join();
    if (dropped) return std::string("dropped with three threads");
    const std::string start = "cannot switch to user nobody (uid 65534, gid 65534): ";
    const std::string end = " threads run already (capabilities are per thread)";
    if (error.rfind(start, 0) != 0 || error.size() < start.size() + end.size() ||
        error.compare(error.size() - end.size(), end.size(), end) != 0) {
      return "error: " + error;
    }
    if (::geteuid() != 0) return std::string("no longer root");
    return std::string();
  });
  EXPECT_EQ(report, "");
}

TEST(DropPrivileges, FailsWithAReasonWhenNotRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become another user first";
  const auto report = inChild([] {
    if (::setresgid(4243, 4243, 4243) != 0 || ::setresuid(4242, 4242, 4242) != 0)
      return std::string("could not become 4242");
    std::string error;
    if (dropPrivileges({"nobody", kNobody, kNogroup}, error)) return std::string("dropped");
    const std::string want = "cannot switch to user nobody (uid 65534, gid 65534): setgroups: ";
    if (error.rfind(want, 0) != 0) return "error: " + error;
    return std::string();
  });
  EXPECT_EQ(report, "");
}

}  // namespace
}  // namespace edge::app
