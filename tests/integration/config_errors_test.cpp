// Option errors: exit status 2 and one stderr line naming the flag, its env var and the value.
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "edge_process.h"
#include "free_port.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

struct ConfigErrorCase {
  std::string name;
  std::vector<std::string> args;  // replaces the base flags with the same name
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
                                      .value = "99999"}),
    [](const ::testing::TestParamInfo<ConfigErrorCase>& param) { return param.param.name; });

TEST(ConfigInfo, HelpAndVersionExitZero) {
  for (const char* flag : {"--help", "--version"}) {
    const EdgeRun run = run_edge_to_exit({flag}, {}, 5s);
    EXPECT_EQ(run.status, 0) << flag << joined(run.err);
    EXPECT_FALSE(run.out.empty() && run.err.empty()) << flag << " printed nothing";
  }
}

}  // namespace
}  // namespace edge::test
