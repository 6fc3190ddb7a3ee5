// edge::config::load with an injected environment: flags, env vars, precedence, defaults and
// one error line per problem (naming the flag, the env var and the bad value).
#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/options.h"

namespace edge::config {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

LoadResult run(const std::vector<std::string>& args, const Env& env = {}) {
  std::vector<const char*> argv{"edge-connector"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return load(static_cast<int>(argv.size()), argv.data(), [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The config (a copy: callers pass temporaries); prints the errors when it is missing.
Config ok(const LoadResult& r) {
  EXPECT_TRUE(r.config.has_value()) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.errors, IsEmpty());
  if (!r.config) throw std::runtime_error("no config");
  return *r.config;
}

const std::vector<std::string> kMinimal = {"--listen", "2222", "--target", "_sftp._tcp.example"};

std::vector<std::string> minimalPlus(std::vector<std::string> extra) {
  auto args = kMinimal;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST(LoadTest, FlagsOnly) {
  const auto r = run({"--listen",
                      "2222",
                      "--target",
                      "_sftp._tcp.example.internal",
                      "--type",
                      "a",
                      "--target-port",
                      "22",
                      "--dns-server",
                      "10.0.0.2",
                      "--connect-timeout",
                      "750ms",
                      "--connect-retries",
                      "0",
                      "--idle-timeout",
                      "10m",
                      "--keepalive",
                      "off",
                      "--max-stale",
                      "1h",
                      "--log-level",
                      "DEBUG"});
  const auto c = ok(r);
  EXPECT_FALSE(c.listen_address.has_value());
  EXPECT_EQ(c.listen_port, 2222);
  EXPECT_EQ(c.target, "_sftp._tcp.example.internal");
  EXPECT_EQ(c.type, RecordType::A);
  EXPECT_EQ(c.target_port, std::optional<uint16_t>(22));
  EXPECT_THAT(c.dns_servers, ElementsAre("10.0.0.2:53"));
  EXPECT_EQ(c.connect_timeout, 750ms);
  EXPECT_EQ(c.connect_retries, 0);
  EXPECT_EQ(c.idle_timeout, std::optional<Duration>(10min));
  EXPECT_FALSE(c.keepalive.has_value());
  EXPECT_EQ(c.max_stale, std::optional<Duration>(1h));
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_THAT(r.notes, IsEmpty());
}

TEST(LoadTest, DropInEnvVarsOnly) {
  const auto r = run({}, {{"LISTENER_PORT", "389"},
                          {"ECS_SERVICE_DISCOVERY_TARGET", "ldap.example.internal"},
                          {"ECS_SERVICE_DISCOVERY_TYPE", "A"},
                          {"TARGET_PORT", "636"},
                          {"DNS_SERVERS", " 10.0.0.2 , 10.0.0.3:5353,[::1]:5353 "}});
  const auto c = ok(r);
  EXPECT_EQ(c.listen_port, 389);
  EXPECT_EQ(c.target, "ldap.example.internal");
  EXPECT_EQ(c.type, RecordType::A);
  EXPECT_EQ(c.target_port, std::optional<uint16_t>(636));
  EXPECT_THAT(c.dns_servers, ElementsAre("10.0.0.2:53", "10.0.0.3:5353", "[::1]:5353"));
}

TEST(LoadTest, EdgeEnvVarsOnly) {
  const auto c = ok(run({}, {{"LISTENER_PORT", "127.0.0.1:2222"},
                             {"ECS_SERVICE_DISCOVERY_TARGET", "_x._tcp.example"},
                             {"EDGE_PORT_OVERRIDE", "636"},
                             {"EDGE_MIN_REFRESH", "2s"},
                             {"EDGE_MAX_REFRESH", "1m"},
                             {"EDGE_CONNECT_RETRIES", "4"},
                             {"EDGE_KEEPALIVE", "30s"},
                             {"EDGE_LOG_LEVEL", "warn"}}));
  EXPECT_EQ(c.listen_address, asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ(c.port_override, std::optional<uint16_t>(636));
  EXPECT_EQ(c.min_refresh, 2s);
  EXPECT_EQ(c.max_refresh, 1min);
  EXPECT_EQ(c.connect_retries, 4);
  EXPECT_EQ(c.keepalive, std::optional<std::chrono::seconds>(30s));
  EXPECT_EQ(c.log_level, "warn");
}

TEST(LoadTest, RecordTypeIsCaseInsensitiveInFlagAndEnv) {
  struct Case {
    std::string text;
    RecordType want;
  };
  for (const auto& [text, want] : std::vector<Case>{{"srv", RecordType::Srv},
                                                    {"Srv", RecordType::Srv},
                                                    {"SRV", RecordType::Srv},
                                                    {"a", RecordType::A},
                                                    {"A", RecordType::A},
                                                    {"aaaa", RecordType::Aaaa},
                                                    {"AaAa", RecordType::Aaaa}}) {
    SCOPED_TRACE(text);
    const Env env = {{"TARGET_PORT", "80"}};
    EXPECT_EQ(ok(run(minimalPlus({"--type", text}), env)).type, want);
    auto env_typed = env;
    env_typed["ECS_SERVICE_DISCOVERY_TYPE"] = text;
    EXPECT_EQ(ok(run(kMinimal, env_typed)).type, want);
  }
}

TEST(LoadTest, FlagOverridesEnv) {
  const auto r = run(
      {"--listen", "2222", "--type", "srv", "--dns-server", "10.9.9.9", "--connect-timeout", "1s"},
      {{"LISTENER_PORT", "1111"},
       {"ECS_SERVICE_DISCOVERY_TARGET", "from-env.example"},
       {"ECS_SERVICE_DISCOVERY_TYPE", "A"},
       {"DNS_SERVERS", "10.0.0.2,10.0.0.3"},
       {"EDGE_CONNECT_TIMEOUT", "9s"}});
  const auto c = ok(r);
  EXPECT_EQ(c.listen_port, 2222);
  EXPECT_EQ(c.target, "from-env.example");  // no flag: the env var still counts
  EXPECT_EQ(c.type, RecordType::Srv);
  EXPECT_THAT(c.dns_servers, ElementsAre("10.9.9.9:53"));
  EXPECT_EQ(c.connect_timeout, 1s);
}

TEST(LoadTest, FlagOverridesInvalidEnv) {
  // A bad env var that a flag replaces is never looked at.
  const auto& c =
      ok(run(minimalPlus({"--connect-timeout", "3s"}), {{"EDGE_CONNECT_TIMEOUT", "x"}}));
  EXPECT_EQ(c.connect_timeout, 3s);
}

TEST(LoadTest, BacklogAndWorkers) {
  const auto& defaults = ok(run(minimalPlus({}), {}));
  EXPECT_EQ(defaults.backlog, 0);   // SOMAXCONN
  EXPECT_EQ(defaults.workers, 0u);  // one per CPU
  const auto& set = ok(run(minimalPlus({"--backlog", "128"}), {{"EDGE_WORKERS", "3"}}));
  EXPECT_EQ(set.backlog, 128);
  EXPECT_EQ(set.workers, 3u);
}

TEST(LoadTest, PipeSize) {
  EXPECT_EQ(ok(run(minimalPlus({}), {})).pipe_size, 1024u * 1024);
  EXPECT_EQ(ok(run(minimalPlus({"--pipe-size", "1m"}), {})).pipe_size, 1024u * 1024);
  EXPECT_EQ(ok(run(minimalPlus({"--pipe-size", "256K"}), {})).pipe_size, 256u * 1024);
  EXPECT_EQ(ok(run(minimalPlus({}), {{"EDGE_PIPE_SIZE", "8192"}})).pipe_size, 8192u);
  EXPECT_EQ(ok(run(minimalPlus({"--pipe-size", "off"}), {})).pipe_size, 0u);
}

TEST(LoadTest, EmptyEnvVarIsUnset) {
  // ECS task definitions often carry empty variables: they must not count as values.
  const auto r = run({}, {{"LISTENER_PORT", "2222"},
                          {"ECS_SERVICE_DISCOVERY_TARGET", "_x._tcp.example"},
                          {"ECS_SERVICE_DISCOVERY_TYPE", ""},
                          {"TARGET_PORT", ""},
                          {"DNS_SERVERS", ""},
                          {"EDGE_CONNECT_TIMEOUT", ""},
                          {"EDGE_LOG_LEVEL", ""}});
  const auto c = ok(r);
  EXPECT_EQ(c.type, RecordType::Srv);
  EXPECT_FALSE(c.target_port.has_value());
  EXPECT_THAT(c.dns_servers, IsEmpty());
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_THAT(r.notes, IsEmpty());  // an empty TARGET_PORT is not "given"

  const auto missing = run({}, {{"LISTENER_PORT", ""}, {"ECS_SERVICE_DISCOVERY_TARGET", ""}});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.errors,
              UnorderedElementsAre(
                  AllOf(HasSubstr("LISTENER_PORT"), HasSubstr("required")),
                  AllOf(HasSubstr("ECS_SERVICE_DISCOVERY_TARGET"), HasSubstr("required"))));
}

TEST(LoadTest, Defaults) {
  const auto r = run(kMinimal);
  const auto c = ok(r);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(c.type, RecordType::Srv);
  EXPECT_FALSE(c.target_port.has_value());
  EXPECT_FALSE(c.port_override.has_value());
  EXPECT_THAT(c.dns_servers, IsEmpty());
  EXPECT_EQ(c.min_refresh, 1s);
  EXPECT_EQ(c.max_refresh, 30s);
  EXPECT_FALSE(c.max_stale.has_value());
  EXPECT_EQ(c.connect_timeout, 5s);
  EXPECT_EQ(c.connect_retries, 2);
  EXPECT_EQ(c.refused_backoff, 5s);
  EXPECT_FALSE(c.idle_timeout.has_value());
  EXPECT_EQ(c.keepalive, std::optional<std::chrono::seconds>(60s));
  EXPECT_EQ(c.drain_timeout, 20s);
  EXPECT_EQ(c.log_level, "info");
}

TEST(LoadTest, ListenForms) {
  struct Case {
    std::string text;
    std::optional<std::string> address;
    uint16_t port;
  };
  for (const auto& [text, address, port] : std::vector<Case>{{"8080", std::nullopt, 8080},
                                                             {"127.0.0.1:8080", "127.0.0.1", 8080},
                                                             {"[::1]:8080", "::1", 8080},
                                                             {"0", std::nullopt, 0},
                                                             {"0.0.0.0:0", "0.0.0.0", 0}}) {
    SCOPED_TRACE(text);
    const auto c = ok(run({"--listen", text, "--target", "_x._tcp.example"}));
    EXPECT_EQ(c.listen_port, port);
    if (address) {
      EXPECT_EQ(c.listen_address, asio::ip::make_address(*address));
    } else {
      EXPECT_FALSE(c.listen_address.has_value());
    }
  }
}

TEST(LoadTest, TargetPortIgnoredForSrvWithNote) {
  for (const auto& [args, env] : std::vector<std::pair<std::vector<std::string>, Env>>{
           {minimalPlus({"--target-port", "389"}), {}}, {kMinimal, {{"TARGET_PORT", "389"}}}}) {
    const auto r = run(args, env);
    EXPECT_FALSE(ok(r).target_port.has_value());
    EXPECT_THAT(r.notes, Contains(AllOf(HasSubstr("TARGET_PORT"), HasSubstr("ignored"))));
  }
}

TEST(LoadTest, DnsServerForms) {
  struct Case {
    std::string text;
    std::string want;
  };
  for (const auto& [text, want] : std::vector<Case>{{"10.0.0.2", "10.0.0.2:53"},
                                                    {"10.0.0.2:5353", "10.0.0.2:5353"},
                                                    {"::1", "[::1]:53"},
                                                    {"[::1]", "[::1]:53"},
                                                    {"[::1]:5353", "[::1]:5353"},
                                                    {"[FD00::2]:53", "[fd00::2]:53"}}) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ok(run(minimalPlus({"--dns-server", text}))).dns_servers, ElementsAre(want));
  }
}

TEST(LoadTest, RepeatedDnsServerKeepsOrder) {
  const auto c = ok(run(minimalPlus(
      {"--dns-server", "10.0.0.3", "--dns-server", "[::1]:5353", "--dns-server", "10.0.0.2:54"})));
  EXPECT_THAT(c.dns_servers, ElementsAre("10.0.0.3:53", "[::1]:5353", "10.0.0.2:54"));
}

struct ErrorCase {
  std::string name;
  std::vector<std::string> args;
  Env env;
  std::string flag;
  std::string env_var;
  std::string value;  // "" when the problem is a missing value
  std::string why;    // a word of the explanation
};

class LoadErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoadErrorTest, StopsWithOneLineNamingFlagEnvAndValue) {
  const auto& p = GetParam();
  const auto r = run(p.args, p.env);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.errors[0], HasSubstr(p.flag + " "));
  EXPECT_THAT(r.errors[0], HasSubstr(p.env_var + ":"));
  if (!p.value.empty()) {
    EXPECT_THAT(r.errors[0], HasSubstr("'" + p.value + "'"));
  }
  EXPECT_THAT(r.errors[0], HasSubstr(p.why));
}

const std::vector<std::string> kTargetOnly = {"--target", "_x._tcp.example"};

std::vector<std::string> args(std::vector<std::string> base, std::vector<std::string> extra) {
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, LoadErrorTest,
    ::testing::Values(
        ErrorCase{"AWithoutTargetPortFlag",
                  minimalPlus({"--type", "a"}),
                  {},
                  "--target-port",
                  "TARGET_PORT",
                  "",
                  "required"},
        ErrorCase{"AWithoutTargetPortEnv",
                  {},
                  {{"LISTENER_PORT", "80"},
                   {"ECS_SERVICE_DISCOVERY_TARGET", "db.example"},
                   {"ECS_SERVICE_DISCOVERY_TYPE", "AAAA"}},
                  "--target-port",
                  "TARGET_PORT",
                  "",
                  "required"},
        ErrorCase{"TargetPortTooBig",
                  minimalPlus({"--type", "a", "--target-port", "70000"}),
                  {},
                  "--target-port",
                  "TARGET_PORT",
                  "70000",
                  "port"},
        ErrorCase{"TargetPortEnvNotANumber",
                  minimalPlus({"--type", "a"}),
                  {{"TARGET_PORT", "abc"}},
                  "--target-port",
                  "TARGET_PORT",
                  "abc",
                  "port"},
        ErrorCase{"UnknownType",
                  minimalPlus({"--type", "mx"}),
                  {},
                  "--type",
                  "ECS_SERVICE_DISCOVERY_TYPE",
                  "mx",
                  "record type"},
        ErrorCase{"MissingTarget",
                  {"--listen", "80"},
                  {},
                  "--target",
                  "ECS_SERVICE_DISCOVERY_TARGET",
                  "",
                  "required"},
        ErrorCase{"MissingListen", kTargetOnly, {}, "--listen", "LISTENER_PORT", "", "required"},
        ErrorCase{"ListenPortTooBig",
                  args(kTargetOnly, {"--listen", "99999"}),
                  {},
                  "--listen",
                  "LISTENER_PORT",
                  "99999",
                  "PORT"},
        ErrorCase{"ListenHostNotAnIp",
                  args(kTargetOnly, {"--listen", "host.example:80"}),
                  {},
                  "--listen",
                  "LISTENER_PORT",
                  "host.example:80",
                  "IP"},
        ErrorCase{"ListenEnvAddressWithoutPort",
                  kTargetOnly,
                  {{"LISTENER_PORT", "127.0.0.1"}},
                  "--listen",
                  "LISTENER_PORT",
                  "127.0.0.1",
                  "PORT"},
        ErrorCase{"ConnectTimeoutBadUnit",
                  minimalPlus({"--connect-timeout", "5x"}),
                  {},
                  "--connect-timeout",
                  "EDGE_CONNECT_TIMEOUT",
                  "5x",
                  "duration"},
        ErrorCase{"ConnectTimeoutEnvBadUnit",
                  kMinimal,
                  {{"EDGE_CONNECT_TIMEOUT", "5x"}},
                  "--connect-timeout",
                  "EDGE_CONNECT_TIMEOUT",
                  "5x",
                  "duration"},
        ErrorCase{"MinRefreshNegative",
                  minimalPlus({"--min-refresh", "-1"}),
                  {},
                  "--min-refresh",
                  "EDGE_MIN_REFRESH",
                  "-1",
                  "duration"},
        ErrorCase{"MaxRefreshBelowMin",
                  minimalPlus({"--max-refresh", "500ms"}),
                  {},
                  "--max-refresh",
                  "EDGE_MAX_REFRESH",
                  "500ms",
                  "--min-refresh"},
        ErrorCase{"ConnectRetriesTooMany",
                  minimalPlus({"--connect-retries", "11"}),
                  {},
                  "--connect-retries",
                  "EDGE_CONNECT_RETRIES",
                  "11",
                  "0 to 10"},
        ErrorCase{"BacklogZero",
                  minimalPlus({"--backlog", "0"}),
                  {},
                  "--backlog",
                  "EDGE_BACKLOG",
                  "0",
                  "1 to 65535"},
        ErrorCase{"PipeSizeTooSmall",
                  minimalPlus({"--pipe-size", "1k"}),
                  {},
                  "--pipe-size",
                  "EDGE_PIPE_SIZE",
                  "1k",
                  "4k to 16m"},
        ErrorCase{"PipeSizeBadSuffix",
                  minimalPlus({}),
                  {{"EDGE_PIPE_SIZE", "64kb"}},
                  "--pipe-size",
                  "EDGE_PIPE_SIZE",
                  "64kb",
                  "4k to 16m"},
        ErrorCase{"WorkersTooMany",
                  minimalPlus({}),
                  {{"EDGE_WORKERS", "257"}},
                  "--workers",
                  "EDGE_WORKERS",
                  "257",
                  "1 to 256"},
        ErrorCase{"DnsServerNotAnIp",
                  minimalPlus({"--dns-server", "resolver.example"}),
                  {},
                  "--dns-server",
                  "DNS_SERVERS",
                  "resolver.example",
                  "IP"},
        ErrorCase{"DnsServerEnvOneBadItem",
                  kMinimal,
                  {{"DNS_SERVERS", "10.0.0.2, resolver.example"}},
                  "--dns-server",
                  "DNS_SERVERS",
                  "resolver.example",
                  "IP"},
        ErrorCase{"PortOverrideWithTypeA",
                  minimalPlus({"--type", "a", "--target-port", "389", "--port-override", "636"}),
                  {},
                  "--port-override",
                  "EDGE_PORT_OVERRIDE",
                  "636",
                  "SRV only"},
        ErrorCase{"UnknownLogLevel",
                  minimalPlus({"--log-level", "loud"}),
                  {},
                  "--log-level",
                  "EDGE_LOG_LEVEL",
                  "loud",
                  "log level"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(LoadTest, UnknownFlagIsAnError) {
  const auto r = run(minimalPlus({"--nope"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.errors, ElementsAre(HasSubstr("--nope")));
}

TEST(LoadTest, SeveralProblemsGiveOneLineEach) {
  const auto r = run({"--listen", "99999", "--target", "_x._tcp.example", "--connect-timeout", "5x",
                      "--log-level", "loud", "--connect-retries", "11"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.errors,
              UnorderedElementsAre(HasSubstr("--listen / LISTENER_PORT: '99999'"),
                                   HasSubstr("--connect-timeout / EDGE_CONNECT_TIMEOUT"),
                                   HasSubstr("--log-level / EDGE_LOG_LEVEL: 'loud'"),
                                   HasSubstr("--connect-retries / EDGE_CONNECT_RETRIES")));
}

TEST(LoadTest, HelpMentionsEveryOption) {
  const auto r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.errors, IsEmpty());
  for (const auto& spec : optionTable()) {
    EXPECT_THAT(r.output, HasSubstr(std::string(spec.flag) + " ")) << spec.flag;
    EXPECT_THAT(r.output, HasSubstr(std::string(spec.env))) << spec.flag;
  }
}

TEST(LoadTest, HelpWinsOverOtherProblems) {
  const auto r = run({"--listen", "99999", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.output, HasSubstr("--listen"));
}

TEST(LoadTest, Version) {
  const auto r = run({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.output, HasSubstr(EDGE_VERSION));
}

}  // namespace
}  // namespace edge::config
