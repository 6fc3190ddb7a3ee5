// `edge-connector healthcheck [--admin ADDR:PORT] [--ready]` against the real daemon: exit 0
// when healthy (and ready with --ready), 1 when not ready, 1 when nothing answers, and always
// within 2 s, even against a server that accepts the connection and never answers.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "admin_fixture.h"
#include "free_port.h"
#include "run_until.h"
#include "unique_fd.h"

namespace edge::test {
namespace {

using Healthcheck = AdminFixture;
using Clock = std::chrono::steady_clock;

struct Timed {
  EdgeRun run;
  std::chrono::milliseconds took;
};

Timed healthcheck(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "healthcheck");
  const auto start = Clock::now();
  Timed t{run_edge_to_exit(args, env, 10s), {}};
  t.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return t;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST_F(Healthcheck, ExitsZeroWhenHealthyAndReady) {
  start_with_echo_backend(kAdminAnyPort);
  const std::string admin = "127.0.0.1:" + std::to_string(admin_port());
  ASSERT_TRUE(run_until([&] { return get("/ready").status == 200; }, 5s));

  const auto live = healthcheck({"--admin", admin});
  ASSERT_TRUE(live.run.status);
  EXPECT_EQ(*live.run.status, 0) << joined(live.run.err);
  EXPECT_EQ(joined(live.run.out), "http://" + admin + "/healthz: 200 ok\n");

  const auto ready = healthcheck({"--admin=" + admin, "--ready"});
  ASSERT_TRUE(ready.run.status);
  EXPECT_EQ(*ready.run.status, 0) << joined(ready.run.err);
  EXPECT_EQ(joined(ready.run.out), "http://" + admin + "/ready: 200 ready\n");

  // EDGE_ADMIN, as the daemon reads it (a container sets it once for both).
  const auto env = healthcheck({"--ready"}, {{"EDGE_ADMIN", admin}});
  ASSERT_TRUE(env.run.status);
  EXPECT_EQ(*env.run.status, 0) << joined(env.run.err);
}

TEST_F(Healthcheck, ReadyExitsOneWhenNotReadyAndSaysWhy) {
  DnsRecords none;
  none.hosts.push_back({.name = "other.svc.test", .address = "127.0.0.1"});
  start_dns(none);
  start_edge(kAdminAnyPort);
  const std::string admin = "127.0.0.1:" + std::to_string(admin_port());

  const auto ready = healthcheck({"--admin", admin, "--ready"});
  ASSERT_TRUE(ready.run.status);
  EXPECT_EQ(*ready.run.status, 1);
  EXPECT_EQ(joined(ready.run.err),
            "healthcheck: http://" + admin +
                "/ready: 503 not ready: route default: no target known; DNS: NXDOMAIN\n");
  // Alive all the same: a liveness probe must not restart it for want of targets.
  const auto live = healthcheck({"--admin", admin});
  ASSERT_TRUE(live.run.status);
  EXPECT_EQ(*live.run.status, 0) << joined(live.run.err);
}

TEST_F(Healthcheck, ExitsOneAtOnceWhenNothingListens) {
  const std::string admin = "127.0.0.1:" + std::to_string(refusing_port());
  for (const auto& args : {std::vector<std::string>{"--admin", admin},
                           std::vector<std::string>{"--admin", admin, "--ready"}}) {
    const auto t = healthcheck(args);
    ASSERT_TRUE(t.run.status);
    EXPECT_EQ(*t.run.status, 1);
    EXPECT_NE(joined(t.run.err).find("cannot connect: Connection refused"), std::string::npos)
        << joined(t.run.err);
    EXPECT_LT(t.took, 2s);
  }
}

TEST_F(Healthcheck, ExitsOneWithin2sWhenTheServerNeverAnswers) {
  // Listening, never accepting: the kernel completes the handshake, nobody reads the request.
  const auto port = free_port();
  UniqueFd mute(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(mute.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(mute.get(), 16), 0);

  const auto t = healthcheck({"--admin", "127.0.0.1:" + std::to_string(port), "--ready"});
  ASSERT_TRUE(t.run.status);
  EXPECT_EQ(*t.run.status, 1);
  EXPECT_NE(joined(t.run.err).find("no HTTP answer within"), std::string::npos)
      << joined(t.run.err);
  EXPECT_LT(t.took, 2s);
  EXPECT_GE(t.took, 1s);  // it did wait for an answer
}

TEST_F(Healthcheck, RejectsOffAndBadArguments) {
  for (const auto& args : {std::vector<std::string>{"--admin", "off"},
                           std::vector<std::string>{"--admin", "localhost:9901"},
                           std::vector<std::string>{"--bogus"}}) {
    const auto t = healthcheck(args);
    ASSERT_TRUE(t.run.status);
    EXPECT_EQ(*t.run.status, 1) << args.back();
    EXPECT_TRUE(has_line(t.run.err, "healthcheck: ")) << joined(t.run.err);
  }
}

}  // namespace
}  // namespace edge::test
