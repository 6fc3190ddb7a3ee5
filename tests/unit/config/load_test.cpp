// edge::config::load with an injected environment: flags, env vars, precedence, defaults and
// one error line per problem (naming the flag, the env var and the bad value).
#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/options.h"
#include "net/endpoint.h"

namespace edge::config {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
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
// The global options and the one route that flags and env vars describe, side by side.
struct Flat : Config, Route {};

Flat ok(const LoadResult& r) {
  EXPECT_TRUE(r.config.has_value()) << ::testing::PrintToString(r.errors);
  EXPECT_THAT(r.errors, IsEmpty());
  if (!r.config) throw std::runtime_error("no config");
  EXPECT_EQ(r.config->routes.size(), 1u);
  return Flat{*r.config, r.config->routes.front()};
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
  EXPECT_EQ(c.drain_timeout, std::optional<Duration>(20s));
  EXPECT_EQ(c.drain_delay, 0s);
  EXPECT_FALSE(c.max_connections.has_value());
  EXPECT_FALSE(c.max_connections_per_source.has_value());
  EXPECT_EQ(c.log_level, "info");
}

TEST(LoadTest, DrainTimeoutOffWaitsForEverButZeroStillMeansAtOnce) {
  auto off = run({"--listen", "1", "--target", "x.example", "--drain-timeout", "off"});
  ASSERT_EQ(off.exit_code, 0);
  EXPECT_FALSE(off.config->drain_timeout.has_value());
  auto zero = run({"--listen", "1", "--target", "x.example", "--drain-timeout", "0s"});
  ASSERT_EQ(zero.exit_code, 0);
  EXPECT_EQ(zero.config->drain_timeout, std::optional<Duration>(0s));
}

TEST(LoadTest, ConnectionLimits) {
  auto r = run({"--listen", "1", "--target", "x.example", "--max-connections", "500",
                "--max-connections-per-source", "100", "--drain-delay", "2s"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.config->max_connections, 500);
  EXPECT_EQ(r.config->max_connections_per_source, 100);
  EXPECT_EQ(r.config->drain_delay, 2s);
  auto off = run({"--listen", "1", "--target", "x.example", "--max-connections-per-source", "OFF"});
  ASSERT_EQ(off.exit_code, 0);
  EXPECT_FALSE(off.config->max_connections_per_source.has_value());
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

TEST(LoadTest, ListenOnAScopedAddressNeedsAnInterfaceThatExists) {
  const auto c = ok(run({"--listen", "[fe80::1%lo]:80", "--target", "_x._tcp.example"}));
  ASSERT_TRUE(c.listen_address.has_value());
  EXPECT_NE(c.listen_address->to_v6().scope_id(), 0u);
  const auto r = run({"--listen", "[fe80::1%nosuch0]:80", "--target", "_x._tcp.example"});
  EXPECT_THAT(r.errors,
              ElementsAre(AllOf(HasSubstr("--listen / LISTENER_PORT: '[fe80::1%nosuch0]:80'"),
                                HasSubstr("interface"))));
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

// CI logs name the case instead of printing "232-byte object <...>".
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

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
                  "log level"},
        ErrorCase{"UnknownLogFormat",
                  minimalPlus({"--log-format", "xml"}),
                  {},
                  "--log-format",
                  "EDGE_LOG_FORMAT",
                  "xml",
                  "text or json"},
        ErrorCase{"UnknownAccessLogEvent",
                  minimalPlus({"--access-log", "open,,close"}),
                  {},
                  "--access-log",
                  "EDGE_ACCESS_LOG",
                  "open,,close",
                  "open, progress, close"},
        ErrorCase{"AdminHostName",
                  minimalPlus({"--admin", "localhost:9901"}),
                  {},
                  "--admin",
                  "EDGE_ADMIN",
                  "localhost:9901",
                  "ADDR:PORT"},
        ErrorCase{"AdminWithoutPort",
                  minimalPlus({"--admin", "127.0.0.1"}),
                  {},
                  "--admin",
                  "EDGE_ADMIN",
                  "127.0.0.1",
                  "ADDR:PORT"},
        ErrorCase{"AdminPortTooLarge",
                  minimalPlus({"--admin", "127.0.0.1:65536"}),
                  {},
                  "--admin",
                  "EDGE_ADMIN",
                  "127.0.0.1:65536",
                  "ADDR:PORT"},
        ErrorCase{"SendProxyV3",
                  minimalPlus({"--send-proxy", "v3"}),
                  {},
                  "--send-proxy",
                  "EDGE_SEND_PROXY",
                  "v3",
                  "off, v1 or v2"},
        ErrorCase{"AcceptProxyMaybe",
                  minimalPlus({"--accept-proxy=maybe"}),
                  {},
                  "--accept-proxy",
                  "EDGE_ACCEPT_PROXY",
                  "maybe",
                  "on or off"},
        ErrorCase{"AcceptProxyWithoutTrustedProxies",
                  minimalPlus({"--accept-proxy"}),
                  {},
                  "--trusted-proxies",
                  "EDGE_TRUSTED_PROXIES",
                  "",
                  "required when --accept-proxy"},
        ErrorCase{"TrustedProxiesWithoutAcceptProxy",
                  minimalPlus({"--trusted-proxies", "10.0.0.0/8"}),
                  {},
                  "--trusted-proxies",
                  "EDGE_TRUSTED_PROXIES",
                  "",
                  "needs --accept-proxy"},
        ErrorCase{"TrustedProxyHostName",
                  minimalPlus({"--accept-proxy", "--trusted-proxies", "lb.example/32"}),
                  {},
                  "--trusted-proxies",
                  "EDGE_TRUSTED_PROXIES",
                  "lb.example/32",
                  "not an IP address"},
        ErrorCase{"AllowHostBits",
                  minimalPlus({"--allow", "10.1.2.3/8"}),
                  {},
                  "--allow",
                  "EDGE_ALLOW",
                  "10.1.2.3/8",
                  "the network is 10.0.0.0/8"},
        ErrorCase{"DenyPrefixTooLong",
                  minimalPlus({"--deny", "2001:db8::/129"}),
                  {},
                  "--deny",
                  "EDGE_DENY",
                  "2001:db8::/129",
                  "0-128"},
        ErrorCase{"DenyEnvWithABadItem",
                  minimalPlus({}),
                  {{"EDGE_DENY", "10.0.0.0/8,,nonsense"}},
                  "--deny",
                  "EDGE_DENY",
                  "nonsense",
                  "not an IP address"},
        ErrorCase{"TargetAllowScope",
                  minimalPlus({"--target-allow", "fe80::1%lo/64"}),
                  {},
                  "--target-allow",
                  "EDGE_TARGET_ALLOW",
                  "fe80::1%lo/64",
                  "scope"},
        ErrorCase{"ProxyHeaderTimeoutZero",
                  minimalPlus({"--proxy-header-timeout", "0s"}),
                  {},
                  "--proxy-header-timeout",
                  "EDGE_PROXY_HEADER_TIMEOUT",
                  "0s",
                  "minimum"},
        ErrorCase{"RateWithoutUnit",
                  minimalPlus({"--rate-limit-per-source", "5"}),
                  {},
                  "--rate-limit-per-source",
                  "EDGE_RATE_LIMIT_PER_SOURCE",
                  "5",
                  "N/s"},
        ErrorCase{"RateZero",
                  minimalPlus({"--rate-limit-per-source", "0/s"}),
                  {},
                  "--rate-limit-per-source",
                  "EDGE_RATE_LIMIT_PER_SOURCE",
                  "0/s",
                  "1 to 1000000"},
        ErrorCase{"RateTooHigh",
                  minimalPlus({"--rate-limit-per-source", "1000001/s"}),
                  {},
                  "--rate-limit-per-source",
                  "EDGE_RATE_LIMIT_PER_SOURCE",
                  "1000001/s",
                  "1 to 1000000"},
        ErrorCase{"RateNegative",
                  minimalPlus({"--rate-limit-per-source=-5/s"}),
                  {},
                  "--rate-limit-per-source",
                  "EDGE_RATE_LIMIT_PER_SOURCE",
                  "-5/s",
                  "N/s"},
        ErrorCase{"RatePerDay",
                  minimalPlus({"--rate-limit-per-source", "5/d"}),
                  {},
                  "--rate-limit-per-source",
                  "EDGE_RATE_LIMIT_PER_SOURCE",
                  "5/d",
                  "N/s, N/m or N/h"},
        ErrorCase{"BurstWithoutRate",
                  minimalPlus({"--rate-limit-burst", "10"}),
                  {},
                  "--rate-limit-burst",
                  "EDGE_RATE_LIMIT_BURST",
                  "10",
                  "needs --rate-limit-per-source"},
        ErrorCase{"BurstZero",
                  minimalPlus({"--rate-limit-per-source", "5/s", "--rate-limit-burst", "0"}),
                  {},
                  "--rate-limit-burst",
                  "EDGE_RATE_LIMIT_BURST",
                  "0",
                  "1 to 1000000"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(LoadTest, AdminDefaultIsLoopbackAndNotExplicitOffAndAnAddressAreExplicit) {
  const auto d = run(minimalPlus({}));
  ASSERT_TRUE(d.config) << ::testing::PrintToString(d.errors);
  ASSERT_TRUE(d.config->admin);
  EXPECT_EQ(net::format(*d.config->admin), "127.0.0.1:9901");
  EXPECT_FALSE(d.config->admin_explicit);
  const auto off = run(minimalPlus({"--admin", "OFF"}));
  ASSERT_TRUE(off.config);
  EXPECT_FALSE(off.config->admin);
  EXPECT_TRUE(off.config->admin_explicit);
  const auto v6 = run(minimalPlus({"--admin", "[::1]:65535"}));  // the largest port
  ASSERT_TRUE(v6.config) << ::testing::PrintToString(v6.errors);
  EXPECT_EQ(net::format(*v6.config->admin), "[::1]:65535");
  EXPECT_TRUE(v6.config->admin_explicit);
  const auto events = run(minimalPlus({"--access-log", "close,OPEN"}));  // any order, any case
  ASSERT_TRUE(events.config);
  EXPECT_EQ(toString(events.config->access_log), "open,close");
  const auto none = run(minimalPlus({"--access-log", "off"}));
  ASSERT_TRUE(none.config);
  EXPECT_FALSE(none.config->access_log.any());
}

TEST(LoadTest, UnknownFlagIsAnError) {
  const auto r = run(minimalPlus({"--nope"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.errors, ElementsAre(HasSubstr("--nope")));
}
// ---- Ranges (issue 9, defect 7): every numeric option's bounds are ones the kernel and the
// libraries accept; the worst legal value loads, the first illegal one is refused naming the cap.

struct BoundCase {
  std::string name;
  std::string flag;
  std::string legal;                 // the extreme value that must still load
  std::string illegal;               // the first value past it
  std::string why;                   // part of the refusal: the bound it crossed
  std::vector<std::string> extra{};  // other flags the legal value needs
};

void PrintTo(const BoundCase& c, std::ostream* os) {
  *os << c.flag << " accepts " << c.legal << ", refuses " << c.illegal;
}

class OptionBoundTest : public ::testing::TestWithParam<BoundCase> {};

TEST_P(OptionBoundTest, WorstLegalValueLoads) {
  const auto& c = GetParam();
  const auto r = run(minimalPlus(args({c.flag, c.legal}, c.extra)));
  EXPECT_TRUE(r.config.has_value()) << ::testing::PrintToString(r.errors);
}

TEST_P(OptionBoundTest, FirstIllegalValueStopsStartUpNamingTheBound) {
  const auto& c = GetParam();
  const OptionSpec* spec = nullptr;
  for (const auto& row : optionTable()) spec = row.flag == c.flag ? &row : spec;
  ASSERT_NE(spec, nullptr);
  const auto r = run(minimalPlus(args({c.flag, c.illegal}, c.extra)));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr(c.flag + " / " + std::string(spec->env) +
                                                    ": '" + c.illegal + "'"),
                                          HasSubstr(c.why))));
  // The same through the env var.
  const auto e = run(minimalPlus(c.extra), {{std::string(spec->env), c.illegal}});
  EXPECT_THAT(e.errors, ElementsAre(AllOf(HasSubstr(std::string(spec->env)), HasSubstr(c.why))));
}

const std::vector<std::string> kTypeAOnly = {"--type", "a"};

const std::vector<BoundCase> kBounds = {
    // TCP_KEEPIDLE takes at most 32767 s; the interval (a sixth) and count (6) stay far inside.
    {"KeepaliveLargest", "--keepalive", "32767s", "32768s", "maximum (1s-32767s, or off)"},
    {"KeepaliveSmallest", "--keepalive", "1s", "999ms", "minimum (1s-32767s, or off)"},
    {"KeepaliveWholeSeconds", "--keepalive", "2000ms", "1500ms", "whole seconds"},
    // TCP_USER_TIMEOUT takes an int of milliseconds (24.8 days at most): 24 days, from 1 s.
    {"UserTimeoutLargest", "--user-timeout", "576h", "577h", "maximum (1s-576h, or off)"},
    {"UserTimeoutSmallest", "--user-timeout", "1s", "999ms", "minimum (1s-576h, or off)"},
    // Durations become steady_clock deadlines (int64 ns): a year is safe and plenty.
    {"ConnectTimeoutLargest", "--connect-timeout", "8760h", "8761h", "maximum (1ms-8760h)"},
    {"ConnectTimeoutSmallest", "--connect-timeout", "1ms", "0", "minimum (1ms-8760h)"},
    {"DrainTimeoutLargest", "--drain-timeout", "8760h", "8761h", "maximum (0s-8760h)"},
    {"DrainDelayLargest", "--drain-delay", "8760h", "8761h", "maximum (0s-8760h)"},
    {"MaxConnectionsLargest", "--max-connections", "10000000", "10000001", "1 to 10000000"},
    {"MaxConnectionsSmallest", "--max-connections", "1", "0", "1 to 10000000"},
    {"PerSourceLargest", "--max-connections-per-source", "10000000", "10000001", "1 to 10000000"},
    {"PerSourceSmallest", "--max-connections-per-source", "1", "0", "1 to 10000000"},
    {"RefusedBackoffLargest", "--refused-backoff", "8760h", "8761h", "maximum (0s-8760h)"},
    {"IdleTimeoutLargest", "--idle-timeout", "8760h", "8761h", "maximum"},
    {"EjectMaxLargest", "--eject-max", "8760h", "8761h", "maximum (0s-8760h)"},
    {"HealthCheckIntervalLargest", "--health-check-interval", "8760h", "8761h",
     "maximum (100ms-8760h, or off)"},
    {"HealthCheckIntervalSmallest", "--health-check-interval", "100ms", "99ms",
     "minimum (100ms-8760h, or off)"},
    {"ProgressIntervalLargest", "--log-progress-interval", "8760h", "8761h",
     "maximum (1s-8760h, or off)"},
    {"ProgressIntervalSmallest", "--log-progress-interval", "1s", "999ms",
     "minimum (1s-8760h, or off)"},
    {"HealthCheckTimeoutLargest", "--health-check-timeout", "8760h", "8761h",
     "maximum (1ms-8760h)"},
    {"HealthCheckTimeoutSmallest", "--health-check-timeout", "1ms", "0", "minimum (1ms-8760h)"},
    {"MaxStaleLargest", "--max-stale", "8760h", "8761h", "maximum"},
    {"MinRefreshLargest",
     "--min-refresh",
     "8760h",
     "8761h",
     "maximum (100ms-8760h)",
     {"--max-refresh", "8760h"}},
    {"MinRefreshSmallest", "--min-refresh", "100ms", "99ms", "minimum (100ms-8760h)"},
    {"MaxRefreshLargest", "--max-refresh", "8760h", "8761h", "maximum (100ms-8760h)"},
    {"DurationTooLargeToHold", "--drain-timeout", "8760h", "99999999999999999999999s",
     "maximum (0s-8760h)"},
    // listen(2) takes any int; the kernel caps it at net.core.somaxconn silently (documented).
    {"BacklogLargest", "--backlog", "65535", "65536", "1 to 65535"},
    {"BacklogSmallest", "--backlog", "1", "0", "1 to 65535"},
    // F_SETPIPE_SZ: above fs.pipe-max-size needs root; the daemon warns and uses what it gets.
    {"PipeSizeLargest", "--pipe-size", "16m", "16385k", "4k to 16m"},
    {"PipeSizeSmallest", "--pipe-size", "4k", "4095", "4k to 16m"},
    {"WorkersLargest", "--workers", "256", "257", "1 to 256"},
    {"WorkersSmallest", "--workers", "1", "0", "1 to 256"},
    {"ConnectRetriesLargest", "--connect-retries", "10", "11", "0 to 10"},
    {"TargetPortLargest", "--target-port", "65535", "65536", "1-65535", kTypeAOnly},
    {"TargetPortSmallest", "--target-port", "1", "0", "1-65535", kTypeAOnly},
    {"PortOverrideLargest", "--port-override", "65535", "65536", "1-65535"},
    {"ProxyHeaderTimeoutLargest", "--proxy-header-timeout", "8760h", "8761h",
     "maximum (1ms-8760h)"},
    {"ProxyHeaderTimeoutSmallest", "--proxy-header-timeout", "1ms", "0", "minimum (1ms-8760h)"},
    {"RateLimitBurstLargest",
     "--rate-limit-burst",
     "1000000",
     "1000001",
     "1 to 1000000",
     {"--rate-limit-per-source", "5/s"}},
    {"RateLimitBurstSmallest",
     "--rate-limit-burst",
     "1",
     "0",
     "1 to 1000000",
     {"--rate-limit-per-source", "5/s"}},
};

INSTANTIATE_TEST_SUITE_P(Ranges, OptionBoundTest, ::testing::ValuesIn(kBounds),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(OptionBounds, EveryNumericOptionHasItsBoundsTested) {
  std::set<std::string> tested;
  for (const auto& c : kBounds) tested.insert(c.flag);
  for (const auto& spec : optionTable()) {
    if (spec.kind == ValueKind::Text) continue;
    EXPECT_TRUE(tested.contains(std::string(spec.flag))) << spec.flag << " has no bound case";
  }
}

TEST(LoadTest, HealthChecksAreOffUnlessAnIntervalIsGiven) {
  const auto c = ok(run(kMinimal));
  EXPECT_EQ(c.eject_max, 30s);
  EXPECT_FALSE(c.health_check_interval.has_value());
  EXPECT_EQ(c.health_check_timeout, 2s);
  EXPECT_EQ(c.health_check_expect, "");
  const auto on = ok(run(minimalPlus({"--health-check-interval", "10s", "--health-check-expect",
                                      "220 ", "--health-check-timeout", "20s"})));
  EXPECT_EQ(on.health_check_interval, std::optional<Duration>(10s));
  EXPECT_EQ(on.health_check_timeout, 20s);  // above the interval: rounds just never overlap
  EXPECT_EQ(on.health_check_expect, "220 ");
}

TEST(LoadTest, AnExpectedGreetingMustBeShortNonEmptyAndComeWithAnInterval) {
  EXPECT_THAT(run(minimalPlus({"--health-check-expect", "SSH-2.0-"})).errors,
              ElementsAre(HasSubstr("needs --health-check-interval")));
  EXPECT_THAT(
      run(minimalPlus({"--health-check-interval", "1s", "--health-check-expect", ""})).errors,
      ElementsAre(HasSubstr("is empty")));
  EXPECT_THAT(run(minimalPlus({"--health-check-interval", "1s", "--health-check-expect",
                               std::string(257, 'x')}))
                  .errors,
              ElementsAre(HasSubstr("longer than 256 bytes")));
  EXPECT_TRUE(run(minimalPlus({"--health-check-interval", "1s", "--health-check-expect",
                               std::string(256, 'x')}))
                  .config.has_value());
}

TEST(LoadTest, KeepaliveAtTheKernelMaximumIsKeptExactly) {
  EXPECT_EQ(ok(run(minimalPlus({"--keepalive", "32767s"}))).keepalive,
            std::optional<std::chrono::seconds>(32767s));
  EXPECT_EQ(ok(run(minimalPlus({"--keepalive", "9h"}))).keepalive,
            std::optional<std::chrono::seconds>(9h));
}

TEST(LoadTest, UserTimeoutIsTwoMinutesUnlessSetAndOffOrZeroTurnsItOff) {
  EXPECT_EQ(ok(run(minimalPlus({}))).user_timeout, std::optional<Duration>(2min));
  EXPECT_EQ(ok(run(minimalPlus({"--user-timeout", "90s"}))).user_timeout,
            std::optional<Duration>(90s));
  EXPECT_EQ(ok(run(minimalPlus({"--user-timeout", "1500ms"}))).user_timeout,
            std::optional<Duration>(1500ms));  // milliseconds are what the kernel takes
  EXPECT_EQ(ok(run(minimalPlus({}), {{"EDGE_USER_TIMEOUT", "5m"}})).user_timeout,
            std::optional<Duration>(5min));
  // 0 is TCP_USER_TIMEOUT's own "kernel default", like off.
  EXPECT_FALSE(ok(run(minimalPlus({"--user-timeout", "off"}))).user_timeout.has_value());
  EXPECT_FALSE(ok(run(minimalPlus({"--user-timeout", "0"}))).user_timeout.has_value());
  EXPECT_FALSE(ok(run(minimalPlus({}), {{"EDGE_USER_TIMEOUT", "off"}})).user_timeout.has_value());
}

TEST(LoadTest, UserTimeoutThatIsNotADurationStopsStartUp) {
  for (const char* bad : {"-1s", "-5", "2 m", "soon", "1d"}) {
    const auto r = run(minimalPlus({"--user-timeout", bad}));
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--user-timeout / EDGE_USER_TIMEOUT"),
                                            HasSubstr("is not a duration"))))
        << bad;
  }
}

TEST(LoadTest, StateFileIsOffUnlessSetAndMayNotExistYet) {
  EXPECT_FALSE(ok(run(minimalPlus({}))).state_file.has_value());
  const std::string path = ::testing::TempDir() + "edge-load-test-never-created.state";
  EXPECT_EQ(ok(run(minimalPlus({"--state-file", path}))).state_file, path);
  EXPECT_EQ(ok(run(minimalPlus({}), {{"EDGE_STATE_FILE", path}})).state_file, path);
  EXPECT_EQ(ok(run(minimalPlus({"--state-file", "relative.state"}))).state_file,
            "relative.state");  // the working directory exists
}

TEST(LoadTest, StateFileInAMissingDirectoryOrNamingADirectoryStopsStartUp) {
  struct Case {
    std::string path, why;
  };
  const std::vector<Case> cases = {
      {"/nonexistent-edge-dir/targets.state",
       "is in a directory that does not exist (/nonexistent-edge-dir)"},
      {::testing::TempDir(), "is a directory"},
      {"/", "is a directory"},
      {"/etc/hostname/targets.state", "is in a directory that does not exist (/etc/hostname)"},
  };
  for (const auto& c : cases) {
    const auto r = run(minimalPlus({"--state-file", c.path}));
    EXPECT_EQ(r.exit_code, 2) << c.path;
    EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--state-file / EDGE_STATE_FILE: '" + c.path),
                                            HasSubstr(c.why))));
  }
}

// ---- --target (defect 14): a DNS name, checked at start-up.

struct TargetCase {
  std::string name;
  std::string target;
  std::string why;  // empty: accepted
};

void PrintTo(const TargetCase& c, std::ostream* os) {
  *os << c.name << (c.why.empty() ? " is accepted" : " is refused: " + c.why);
}

class TargetNameTest : public ::testing::TestWithParam<TargetCase> {};

TEST_P(TargetNameTest, IsCheckedAsADnsName) {
  const auto& c = GetParam();
  // `--target=VALUE` so that a leading '-' is a value, and the env var ECS task definitions set.
  for (const auto& r : {run({"--listen", "80", "--target=" + c.target}),
                        run({"--listen", "80"}, {{"ECS_SERVICE_DISCOVERY_TARGET", c.target}})}) {
    if (c.why.empty()) {
      EXPECT_EQ(ok(r).target, c.target);
      continue;
    }
    EXPECT_EQ(r.exit_code, 2);
    ASSERT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--target / ECS_SERVICE_DISCOVERY_TARGET: '"),
                                            HasSubstr(c.why))));
    EXPECT_EQ(r.errors[0].find('\n'), std::string::npos) << r.errors[0];
    EXPECT_LT(r.errors[0].size(), 250u) << r.errors[0];
  }
}

const std::string k63(63, 'a');

INSTANTIATE_TEST_SUITE_P(
    Targets, TargetNameTest,
    ::testing::Values(
        TargetCase{"SrvName", "_sftp._tcp.example.internal", ""},
        TargetCase{"HostName", "db-1.example.internal", ""},
        TargetCase{"TrailingDot", "db.example.internal.", ""},
        TargetCase{"SingleLabel", "localhost", ""},
        TargetCase{"UnderscoreInside", "my_svc.ns.example", ""},
        TargetCase{"Punycode", "xn--bcher-kva.example", ""},
        TargetCase{"UpperCase", "DB.Example.Internal", ""},
        TargetCase{"Label63Bytes", k63 + ".example", ""},
        TargetCase{"Name253Bytes", k63 + "." + k63 + "." + k63 + "." + std::string(61, 'b'), ""},
        TargetCase{"EmptyLabel", "a..b", "label 2 is empty"},
        TargetCase{"LeadingDot", ".a.example", "label 1 is empty"},
        TargetCase{"TwoTrailingDots", "a.example..", "label 3 is empty"},
        TargetCase{"OnlyADot", ".", "empty"},
        TargetCase{"Label64Bytes", k63 + "a.example", "label 1 is 64 bytes, at most 63"},
        TargetCase{"Name254Bytes", k63 + "." + k63 + "." + k63 + "." + std::string(62, 'b'),
                   "254 bytes, at most 253"},
        TargetCase{"Space", "a b.example", "byte 2 is ' '"},
        TargetCase{"Newline", "a.example\nerror: forged", "byte 10 is '\\n'"},
        TargetCase{"Escape", "a\x1b[31m.example", "byte 2 is '\\x1b'"},
        TargetCase{"NonAscii",
                   "b\xc3\xbc"
                   "cher.example",
                   "byte 2 is '\\xc3'"},
        TargetCase{"LeadingHyphen", "-a.example", "label 1 ('-a') starts or ends with '-'"},
        TargetCase{"TrailingHyphenInLabel", "a-.example", "starts or ends with '-'"},
        TargetCase{"IpAddress", "10.0.0.1", "all digits"},
        TargetCase{"BracketList", "[a.test,b.test]", "byte 1 is '['"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(LoadTest, AHundredKilobyteTargetIsShownShortened) {
  const std::string huge(100'000, 'x');
  const auto r = run({"--listen", "80", "--target", huge});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("'" + std::string(64, 'x') + "...(100000 bytes)'"));
  EXPECT_LT(r.errors[0].size(), 200u);
}

// ---- One value per single-value flag (defect 15).

TEST(LoadTest, SecondValueAfterASingleValueFlagIsAnErrorNamingIt) {
  const auto r = run({"--listen", "127.0.0.1:0", "127.0.0.1:1", "--target", "a.test"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--listen / LISTENER_PORT: '127.0.0.1:1'"),
                                          HasSubstr("second value"), HasSubstr("see --help"))));
  const auto w = run(minimalPlus({"--workers", "2", "7"}));
  EXPECT_THAT(w.errors, ElementsAre(HasSubstr("--workers / EDGE_WORKERS: '7' is a second value")));
}

TEST(LoadTest, SingleValueFlagGivenTwiceIsAnError) {
  for (const auto& form : std::vector<std::vector<std::string>>{
           {"--workers", "2", "--workers", "7"}, {"--workers=2", "--workers=7"}}) {
    const auto r = run(minimalPlus(form));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--workers / EDGE_WORKERS:"),
                                            HasSubstr("more than once ('2', then '7')"))));
  }
  // Even with the same value: the second one is a mistake somewhere.
  EXPECT_EQ(run(args(kMinimal, {"--target", "_sftp._tcp.example"})).exit_code, 2);
}

TEST(LoadTest, BracketedTargetIsTakenLiterallyNotAsAList) {
  const auto r = run({"--listen", "80", "--target", "[a.test,b.test]"});
  EXPECT_THAT(r.errors,
              ElementsAre(AllOf(HasSubstr("'[a.test,b.test]'"), HasSubstr("is not a DNS name"))));
  const auto eq = run({"--listen", "80", "--target=[a.test]"});
  EXPECT_THAT(eq.errors, ElementsAre(HasSubstr("'[a.test]' is not a DNS name")));
}

TEST(LoadTest, RepeatableDnsServerStillTakesSeveralValues) {
  EXPECT_THAT(ok(run(minimalPlus({"--dns-server", "10.0.0.2", "10.0.0.3:54"}))).dns_servers,
              ElementsAre("10.0.0.2:53", "10.0.0.3:54"));
  EXPECT_THAT(ok(run(minimalPlus({"--dns-server=10.0.0.2", "--dns-server=10.0.0.4"}))).dns_servers,
              ElementsAre("10.0.0.2:53", "10.0.0.4:53"));
}

TEST(LoadTest, StrayArgumentBeforeAnyFlagIsAnError) {
  const auto r = run(args({"serve"}, kMinimal));
  EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("unexpected argument 'serve'"),
                                          HasSubstr("see --help"))));
}

// ---- --dns-server (defect 16).

struct ResolverCase {
  std::string name;
  std::string flag_value;  // as --dns-server
  std::string why;
};

void PrintTo(const ResolverCase& c, std::ostream* os) {
  *os << "--dns-server " << c.flag_value << " is refused: " << c.why;
}

class ResolverAddressTest : public ::testing::TestWithParam<ResolverCase> {};

TEST_P(ResolverAddressTest, IsRefusedNamingFlagEnvAndWhy) {
  const auto& c = GetParam();
  for (const auto& r : {run(minimalPlus({"--dns-server", c.flag_value})),
                        run(kMinimal, {{"DNS_SERVERS", "10.0.0.2," + c.flag_value}})}) {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.errors,
                ElementsAre(AllOf(HasSubstr("--dns-server / DNS_SERVERS: '" + c.flag_value + "'"),
                                  HasSubstr(c.why))));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Resolvers, ResolverAddressTest,
    ::testing::Values(ResolverCase{"ScopeId", "[fe80::1%lo]:53", "scope id"},
                      ResolverCase{"UnknownInterface", "[fe80::1%nosuch0]:53", "scope id"},
                      ResolverCase{"LinkLocalWithoutScope", "[fe80::1]:53", "link-local"},
                      ResolverCase{"UnspecifiedV4", "0.0.0.0", "unspecified"},
                      ResolverCase{"UnspecifiedV6", "[::]:53", "unspecified"},
                      ResolverCase{"UnspecifiedMapped", "[::ffff:0.0.0.0]:53", "unspecified"},
                      ResolverCase{"MulticastV4", "224.0.0.251:5353", "multicast"},
                      ResolverCase{"MulticastV6", "[ff02::fb]:5353", "multicast"},
                      ResolverCase{"Broadcast", "255.255.255.255", "broadcast"},
                      ResolverCase{"PortZero", "10.0.0.2:0", "port 0"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST(LoadTest, DnsServersEnvWithOnlyCommasIsAnErrorNotSystemResolvers) {
  for (const std::string value : {",,,", " , ", " "}) {
    const auto r = run(kMinimal, {{"DNS_SERVERS", value}});
    EXPECT_EQ(r.exit_code, 2) << '"' << value << '"';
    EXPECT_THAT(r.errors,
                ElementsAre(AllOf(HasSubstr("--dns-server / DNS_SERVERS: '" + value + "'"),
                                  HasSubstr("lists no server"))));
  }
}

TEST(LoadTest, LinkLocalIpv4ResolverIsAccepted) {
  // The Amazon VPC resolver lives at 169.254.169.253: IPv4 link-local needs no scope.
  EXPECT_THAT(ok(run(minimalPlus({"--dns-server", "169.254.169.253"}))).dns_servers,
              ElementsAre("169.254.169.253:53"));
}

// ---- Messages (defect 17).

TEST(LoadTest, ControlBytesInAValueAreEscapedAndCannotForgeALine) {
  const auto r = run(minimalPlus({"--log-level", "loud\nerror: forged \x1b[2J"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0], HasSubstr("'loud\\nerror: forged \\x1b[2J' is not a log level"));
  for (const char ch : r.errors[0]) {
    EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "raw byte " << int(static_cast<unsigned char>(ch));
  }
}

TEST(LoadTest, FlagWithoutAValueNamesItsEnvVar) {
  for (const auto& form : std::vector<std::vector<std::string>>{
           {"--workers"}, {"--workers", "--log-level", "info"}, {"--workers="}}) {
    const auto r = run(minimalPlus(form));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.errors,
                ElementsAre(AllOf(HasSubstr("error: --workers / EDGE_WORKERS: needs a value"),
                                  HasSubstr("(see --help)"))));
  }
}

TEST(LoadTest, DurationOverTheCapNamesTheCap) {
  const auto r = run(minimalPlus({"--connect-timeout", "9000h"}));
  EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("'9000h' is above the maximum"),
                                          HasSubstr("8760h"), Not(HasSubstr("not a duration")))));
}

TEST(LoadTest, SubSecondKeepaliveIsRefusedNotRounded) {
  const auto r = run(minimalPlus({"--keepalive", "1500ms"}));
  EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--keepalive / EDGE_KEEPALIVE: '1500ms'"),
                                          HasSubstr("whole seconds"))));
}

TEST(LoadTest, MalformedTargetPortIsAnErrorEvenForSrv) {
  for (const auto& [argv, env] : std::vector<std::pair<std::vector<std::string>, Env>>{
           {kMinimal, {{"TARGET_PORT", "abc"}}},
           {minimalPlus({"--target-port", "70000"}), {}},
           {kMinimal, {{"TARGET_PORT", "0"}}}}) {
    const auto r = run(argv, env);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.errors, ElementsAre(AllOf(HasSubstr("--target-port / TARGET_PORT:"),
                                            HasSubstr("is not a port"))));
  }
}

TEST(LoadTest, UnknownFlagsGiveOneLineEachInOrder) {
  const auto r = run(minimalPlus({"--nope", "5", "--also-nope", "-x"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.errors,
              ElementsAre(HasSubstr("unknown flag '--nope' (see --help)"),
                          HasSubstr("unknown flag '--also-nope'"), HasSubstr("unknown flag '-x'")));
}

TEST(LoadTest, NegativeNumberIsAValueNotAFlag) {
  const auto r = run(minimalPlus({"--connect-retries", "-1"}));
  EXPECT_THAT(r.errors, ElementsAre(HasSubstr("--connect-retries / EDGE_CONNECT_RETRIES: '-1'")));
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

namespace edge::config {
namespace {

TEST(LoadTest, ProxyAndAccessControlOptionsAtTheirWorstLegalValues) {
  const auto c = ok(
      run(minimalPlus({"--send-proxy", "V2", "--accept-proxy", "--trusted-proxies", "0.0.0.0/0",
                       "--trusted-proxies", "::/0", "--proxy-header-timeout", "1ms", "--allow",
                       "::ffff:0.0.0.0/96", "--deny", "255.255.255.255", "--target-allow", "::1",
                       "--rate-limit-per-source", "1000000/s", "--rate-limit-burst", "1000000"})));
  const auto& r = c.routes.at(0);
  EXPECT_EQ(r.send_proxy, ProxyProtocol::V2);
  EXPECT_TRUE(r.accept_proxy);
  EXPECT_EQ(net::joinText(r.trusted_proxies), "0.0.0.0/0,::/0");
  EXPECT_EQ(r.proxy_header_timeout, Duration(1));
  EXPECT_EQ(net::joinText(r.allow), "0.0.0.0/0");  // written mapped: the IPv4 range
  EXPECT_EQ(net::joinText(r.deny), "255.255.255.255/32");
  EXPECT_EQ(net::joinText(r.target_allow), "::1/128");
  ASSERT_TRUE(r.rate_limit);
  EXPECT_EQ(toString(*r.rate_limit), "1000000/s");
  EXPECT_EQ(r.rate_limit_burst, 1'000'000u);
  // The env var takes a comma list; `--accept-proxy=off` and the env var's words turn it off.
  const auto e =
      ok(run(minimalPlus({"--accept-proxy=off"}), {{"EDGE_ALLOW", "10.0.0.0/8, 192.0.2.7"},
                                                   {"EDGE_RATE_LIMIT_PER_SOURCE", "1/h"},
                                                   {"EDGE_SEND_PROXY", "off"}}));
  EXPECT_FALSE(e.routes.at(0).accept_proxy);
  EXPECT_EQ(net::joinText(e.routes.at(0).allow), "10.0.0.0/8,192.0.2.7/32");
  EXPECT_EQ(toString(*e.routes.at(0).rate_limit), "1/h");
  const auto on = ok(
      run(minimalPlus({}), {{"EDGE_ACCEPT_PROXY", "TRUE"}, {"EDGE_TRUSTED_PROXIES", "10.0.0.1"}}));
  EXPECT_TRUE(on.routes.at(0).accept_proxy);
}

}  // namespace
}  // namespace edge::config
