// Option errors: exit status 2 and one stderr line naming the flag, its env var and the value
// (escaped: a value never prints a second line); and the largest legal values start a daemon
// that forwards (each bound is one the kernel accepts).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "edge_fixture.h"
#include "edge_process.h"
#include "free_port.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

struct ConfigErrorCase {
  std::string name;
  std::vector<std::string> args{};  // replaces the base flags with the same name
  std::map<std::string, std::string> env{};
  std::string flag;
  std::string env_var;
  std::string value;                // empty when the value is missing rather than wrong
  std::vector<std::string> drop{};  // base flags to leave out
};

// gtest prints parameters in test listings; the name says it all.
void PrintTo(const ConfigErrorCase& c, std::ostream* os) {
  *os << c.name;
}

// A valid configuration; each case breaks exactly one thing. DNS is never reached: the
// server address is a port with nothing behind it.
std::vector<std::string> base_args(const ConfigErrorCase& c) {
  const std::map<std::string, std::string> base = {
      {"--listen", "127.0.0.1:0"},
      {"--target", "_edge._tcp.svc.test"},
      {"--dns-server", "127.0.0.1:" + std::to_string(refusing_port())}};
  std::vector<std::string> args;
  for (const auto& [flag, value] : base) {
    bool overridden = false;
    for (const auto& arg : c.args) overridden = overridden || arg == flag;
    for (const auto& dropped : c.drop) overridden = overridden || dropped == flag;
    if (!overridden) args.insert(args.end(), {flag, value});
  }
  args.insert(args.end(), c.args.begin(), c.args.end());
  return args;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

class ConfigError : public ::testing::TestWithParam<ConfigErrorCase> {};

TEST_P(ConfigError, ExitsWithStatus2AndNamesFlagEnvAndValue) {
  const ConfigErrorCase& c = GetParam();
  const EdgeRun run = run_edge_to_exit(base_args(c), c.env, 5s);
  ASSERT_TRUE(run.status.has_value()) << "still running after 5 s" << joined(run.err);
  EXPECT_EQ(*run.status, 2) << joined(run.err);
  bool found = false;
  for (const auto& line : run.err) {
    found = found ||
            (line.find(c.flag) != std::string::npos && line.find(c.env_var) != std::string::npos &&
             line.find(c.value) != std::string::npos);
  }
  EXPECT_TRUE(found) << "no stderr line names " << c.flag << ", " << c.env_var
                     << (c.value.empty() ? "" : " and '" + c.value + "'") << joined(run.err);
  // One problem, one line, printable: a bad value cannot forge a second `error:` line.
  EXPECT_EQ(run.err.size(), 1u) << joined(run.err);
  for (const auto& line : run.err) {
    EXPECT_EQ(line.rfind("error: ", 0), 0u) << joined(run.err);
    for (const char ch : line) {
      EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "raw byte " << static_cast<int>(ch) << " in " << line;
    }
    EXPECT_LT(line.size(), 300u) << line.substr(0, 300);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Options, ConfigError,
    ::testing::Values(ConfigErrorCase{.name = "ARecordWithoutTargetPort",
                                      .args = {"--type", "a"},
                                      .flag = "--target-port",
                                      .env_var = "TARGET_PORT",
                                      .value = ""},
                      ConfigErrorCase{.name = "TargetPortOutOfRange",
                                      .args = {"--type", "a", "--target-port", "70000"},
                                      .flag = "--target-port",
                                      .env_var = "TARGET_PORT",
                                      .value = "70000"},
                      ConfigErrorCase{.name = "TargetPortOutOfRangeFromEnv",
                                      .args = {"--type", "aaaa"},
                                      .env = {{"TARGET_PORT", "70000"}},
                                      .flag = "--target-port",
                                      .env_var = "TARGET_PORT",
                                      .value = "70000"},
                      ConfigErrorCase{.name = "UnknownType",
                                      .args = {"--type", "mx"},
                                      .flag = "--type",
                                      .env_var = "ECS_SERVICE_DISCOVERY_TYPE",
                                      .value = "mx"},
                      ConfigErrorCase{.name = "MissingTarget",
                                      .args = {},
                                      .flag = "--target",
                                      .env_var = "ECS_SERVICE_DISCOVERY_TARGET",
                                      .value = "",
                                      .drop = {"--target"}},
                      ConfigErrorCase{.name = "BadDuration",
                                      .args = {"--min-refresh", "5x"},
                                      .flag = "--min-refresh",
                                      .env_var = "EDGE_MIN_REFRESH",
                                      .value = "5x"},
                      ConfigErrorCase{.name = "BadDurationFromEnv",
                                      .args = {},
                                      .env = {{"EDGE_CONNECT_TIMEOUT", "soon"}},
                                      .flag = "--connect-timeout",
                                      .env_var = "EDGE_CONNECT_TIMEOUT",
                                      .value = "soon"},
                      ConfigErrorCase{.name = "DnsServerNotAnIpLiteral",
                                      .args = {"--dns-server", "dns.example"},
                                      .flag = "--dns-server",
                                      .env_var = "DNS_SERVERS",
                                      .value = "dns.example"},
                      ConfigErrorCase{.name = "ListenPortOutOfRange",
                                      .args = {"--listen", "127.0.0.1:99999"},
                                      .flag = "--listen",
                                      .env_var = "LISTENER_PORT",
                                      .value = "99999"},
                      // Issue 9, defect 7: TCP_KEEPIDLE takes at most 32767 s.
                      ConfigErrorCase{.name = "KeepaliveAboveTheKernelMaximum",
                                      .args = {"--keepalive", "32768s"},
                                      .flag = "--keepalive",
                                      .env_var = "EDGE_KEEPALIVE",
                                      .value = "'32768s' is above the maximum (1s-32767s"},
                      ConfigErrorCase{.name = "KeepaliveAboveTheKernelMaximumFromEnv",
                                      .env = {{"EDGE_KEEPALIVE", "10h"}},
                                      .flag = "--keepalive",
                                      .env_var = "EDGE_KEEPALIVE",
                                      .value = "'10h' is above the maximum"},
                      // Defect 14: --target is a DNS name.
                      ConfigErrorCase{.name = "TargetWithAnEmptyLabel",
                                      .args = {"--target", "a..b"},
                                      .flag = "--target",
                                      .env_var = "ECS_SERVICE_DISCOVERY_TARGET",
                                      .value = "'a..b' is not a DNS name"},
                      ConfigErrorCase{
                          .name = "TargetWithANewlineFromEnv",
                          .env = {{"ECS_SERVICE_DISCOVERY_TARGET", "svc.test\nerror: forged"}},
                          .flag = "--target",
                          .env_var = "ECS_SERVICE_DISCOVERY_TARGET",
                          .value = "'svc.test\\nerror: forged' is not a DNS name",
                          .drop = {"--target"}},
                      ConfigErrorCase{.name = "TargetWith64ByteLabel",
                                      .args = {"--target", std::string(64, 'a') + ".test"},
                                      .flag = "--target",
                                      .env_var = "ECS_SERVICE_DISCOVERY_TARGET",
                                      .value = "label 1 is 64 bytes"},
                      // Defect 15: one value per single-value flag, taken literally.
                      ConfigErrorCase{.name = "ListenGivenTwoValues",
                                      .args = {"--listen", "127.0.0.1:0", "127.0.0.1:1"},
                                      .flag = "--listen",
                                      .env_var = "LISTENER_PORT",
                                      .value = "'127.0.0.1:1' is a second value"},
                      ConfigErrorCase{.name = "WorkersGivenTwice",
                                      .args = {"--workers", "2", "--workers", "7"},
                                      .flag = "--workers",
                                      .env_var = "EDGE_WORKERS",
                                      .value = "more than once ('2', then '7')"},
                      ConfigErrorCase{.name = "TargetInBracketsIsNotAList",
                                      .args = {"--target", "[a.test,b.test]"},
                                      .flag = "--target",
                                      .env_var = "ECS_SERVICE_DISCOVERY_TARGET",
                                      .value = "'[a.test,b.test]' is not a DNS name"},
                      // Defect 16: resolvers that can never answer.
                      ConfigErrorCase{.name = "DnsServerWithScopeId",
                                      .args = {"--dns-server", "[fe80::1%lo]:53"},
                                      .flag = "--dns-server",
                                      .env_var = "DNS_SERVERS",
                                      .value = "'[fe80::1%lo]:53' has a scope id"},
                      ConfigErrorCase{.name = "DnsServerWithUnknownInterface",
                                      .args = {"--dns-server", "[fe80::1%nosuch0]:53"},
                                      .flag = "--dns-server",
                                      .env_var = "DNS_SERVERS",
                                      .value = "'[fe80::1%nosuch0]:53' has a scope id"},
                      ConfigErrorCase{.name = "DnsServerUnspecified",
                                      .args = {"--dns-server", "0.0.0.0"},
                                      .flag = "--dns-server",
                                      .env_var = "DNS_SERVERS",
                                      .value = "'0.0.0.0' is the unspecified address"},
                      ConfigErrorCase{.name = "DnsServersEnvWithOnlyCommas",
                                      .env = {{"DNS_SERVERS", ",,,"}},
                                      .flag = "--dns-server",
                                      .env_var = "DNS_SERVERS",
                                      .value = "',,,' lists no server",
                                      .drop = {"--dns-server"}},
                      // Defect 17: messages.
                      ConfigErrorCase{.name = "WorkersWithoutAValue",
                                      .args = {"--workers"},
                                      .flag = "--workers",
                                      .env_var = "EDGE_WORKERS",
                                      .value = "needs a value (see --help)"},
                      ConfigErrorCase{.name = "DurationOverTheCap",
                                      .args = {"--drain-timeout", "9000h"},
                                      .flag = "--drain-timeout",
                                      .env_var = "EDGE_DRAIN_TIMEOUT",
                                      .value = "is above the maximum (0s-8760h)"},
                      ConfigErrorCase{.name = "SubSecondKeepalive",
                                      .args = {"--keepalive", "1500ms"},
                                      .flag = "--keepalive",
                                      .env_var = "EDGE_KEEPALIVE",
                                      .value = "'1500ms' is not whole seconds"},
                      ConfigErrorCase{.name = "HugeValueIsShortened",
                                      .args = {"--log-level", std::string(100'000, 'v')},
                                      .flag = "--log-level",
                                      .env_var = "EDGE_LOG_LEVEL",
                                      .value = "...(100000 bytes)' is not a log level"},
                      ConfigErrorCase{.name = "MalformedTargetPortNextToSrv",
                                      .env = {{"TARGET_PORT", "22x"}},
                                      .flag = "--target-port",
                                      .env_var = "TARGET_PORT",
                                      .value = "'22x' is not a port"},
                      ConfigErrorCase{.name = "UnknownFlag",
                                      .args = {"--no-such-flag", "1"},
                                      .flag = "unknown flag",
                                      .env_var = "'--no-such-flag'",
                                      .value = "(see --help)"}),
    [](const ::testing::TestParamInfo<ConfigErrorCase>& param) { return param.param.name; });

// Every option at its largest legal value (issue 9, defect 7): the daemon starts, sets them on
// its sockets and timers, and forwards. Guards the ranges against being wrong the other way.
class LargestLegalValues : public EdgeFixture {};

TEST_F(LargestLegalValues, DaemonStartsAndForwards) {
  Backend& backend = add_greet_echo("echo");
  DnsRecords records;
  add_srv(records, backend);
  start_dns(std::move(records));
  start_edge_with({.args = {"--target",          kService, "--dns-server",      dns().address(),
                            "--target-port",     "65535",  "--min-refresh",     "8760h",
                            "--max-refresh",     "8760h",  "--max-stale",       "8760h",
                            "--connect-timeout", "8760h",  "--connect-retries", "10",
                            "--refused-backoff", "8760h",  "--idle-timeout",    "8760h",
                            "--keepalive",       "32767s", "--drain-timeout",   "8760h",
                            "--backlog",         "65535",  "--pipe-size",       "16m",
                            "--workers",         "256"}});
  EXPECT_EQ(greeting_through_edge(), "echo");
  // The drain timer is armed with 8760h; with no connection left the daemon stops at once.
  ASSERT_TRUE(signal_edge(SIGTERM));
  const auto status = edge().process().wait_exit(10s);
  EXPECT_EQ(status, 0);
}

TEST(ConfigInfo, HelpAndVersionExitZero) {
  for (const char* flag : {"--help", "--version"}) {
    const EdgeRun run = run_edge_to_exit({flag}, {}, 5s);
    EXPECT_EQ(run.status, 0) << flag << joined(run.err);
    EXPECT_FALSE(run.out.empty() && run.err.empty()) << flag << " printed nothing";
  }
}

}  // namespace
}  // namespace edge::test
