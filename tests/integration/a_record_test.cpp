// A-record discovery (--type a + target port), configured by flags, by env vars only, and both.
#include <gtest/gtest.h>

#include <system_error>

#include "edge_fixture.h"
#include "free_port.h"

namespace edge::test {
namespace {

constexpr const char* kAppName = "app.svc.test";

class ARecord : public EdgeFixture {
 protected:
  // Two backends on the same port at 127.0.0.2 and 127.0.0.3, both behind kAppName.
  void SetUp() override {
    for (int attempt = 0; attempt < 10 && a2_ == nullptr; ++attempt) {
      backends_.clear();
      a1_ = &add_backend({.id = "a1", .address = "127.0.0.2"});
      try {
        a2_ = &add_backend({.id = "a2", .address = "127.0.0.3", .port = a1_->port()});
      } catch (const std::system_error&) {  // that port is taken on 127.0.0.3: try another
      }
    }
    ASSERT_NE(a2_, nullptr);
    start_dns({.hosts = {{kAppName, "127.0.0.2"}, {kAppName, "127.0.0.3"}}});
  }

  std::string target_port() const { return std::to_string(a1_->port()); }

  Backend* a1_ = nullptr;
  Backend* a2_ = nullptr;
};

TEST_F(ARecord, ReachesEveryAddressOnTheTargetPort) {
  start_edge_with({.args = {"--type", "a", "--target", kAppName, "--target-port", target_port(),
                            "--dns-server", dns().address()}});
  auto counts = spread(60);
  // Bin(60, 1/2) puts fewer than 10 on one side with probability 3e-8.
  EXPECT_GE(counts["a1"], 10) << describe(counts);
  EXPECT_GE(counts["a2"], 10) << describe(counts);
  EXPECT_EQ(counts["a1"] + counts["a2"], 60) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(60, 5s));
  for (const auto& record : edge().access_log()) {
    const auto target = record.get("target");
    EXPECT_TRUE(target == a1_->endpoint() || target == a2_->endpoint()) << target;
  }
}

TEST_F(ARecord, ConfiguredByEnvironmentOnly) {
  start_edge_with({.env = {{"LISTENER_PORT", "0"},
                           {"ECS_SERVICE_DISCOVERY_TARGET", kAppName},
                           {"ECS_SERVICE_DISCOVERY_TYPE", "A"},  // upper case on purpose
                           {"TARGET_PORT", target_port()},
                           {"DNS_SERVERS", dns().address()},
                           {"EDGE_MIN_REFRESH", "1s"},
                           {"EDGE_MAX_REFRESH", "2s"}},
                   .default_listen = false});
  auto counts = spread(20);
  EXPECT_EQ(counts["a1"] + counts["a2"], 20) << describe(counts);
}

TEST_F(ARecord, FlagsOverrideEnvironment) {
  // Every env value below would break the test if it won over the flag that repeats it.
  Backend& elsewhere = add_greet_echo("elsewhere");  // holds the env's listener port
  const std::uint16_t refusing = refusing_port();
  start_edge_with({.args = {"--listen", "127.0.0.1:0", "--type", "a", "--target", kAppName,
                            "--target-port", target_port(), "--dns-server", dns().address()},
                   .env = {{"LISTENER_PORT", std::to_string(elsewhere.port())},
                           {"ECS_SERVICE_DISCOVERY_TARGET", "missing.svc.test"},
                           {"ECS_SERVICE_DISCOVERY_TYPE", "srv"},
                           {"TARGET_PORT", std::to_string(refusing)},
                           {"DNS_SERVERS", "127.0.0.1:" + std::to_string(refusing_port())}}});
  EXPECT_NE(edge().port(), elsewhere.port());
  auto counts = spread(10);
  EXPECT_EQ(counts["a1"] + counts["a2"], 10) << describe(counts);
  EXPECT_EQ(elsewhere.accepted(), 0);
  ASSERT_TRUE(edge().wait_access_log(10, 5s));
  for (const auto& record : edge().access_log()) EXPECT_EQ(record.integer("attempts"), 1);
}

}  // namespace
}  // namespace edge::test
