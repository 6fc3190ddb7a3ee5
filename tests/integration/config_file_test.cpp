// The configuration file with the real binary: `check` exit codes and a printed configuration
// that checks back to itself, a bad file stopping start-up with the exact line, and routes from
// the file serving.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client.h"
#include "edge_fixture.h"
#include "edge_process.h"
#include "free_port.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// A temporary directory for one test's files, removed after it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "edge-config-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    const auto path = path_ + "/" + name;
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  }

 private:
  std::string path_;
};

// DNS is never asked by `check`; the file names a resolver with nothing behind it.
std::string twoRoutes() {
  return "dns_servers = [\"127.0.0.1:" + std::to_string(refusing_port()) +
         "\"]\n"
         "connect_timeout = \"3s\"\n"
         "workers = 2\n"
         "\n"
         "[[route]]\n"
         "name = \"sftp\"\n"
         "listen = \"127.0.0.1:2222\"\n"
         "target = \"_sftp._tcp.example.internal\"\n"
         "\n"
         "[[route]]\n"
         "name = \"ldaps\"\n"
         "listen = 636\n"
         "target = \"ldap.example.internal\"\n"
         "type = \"a\"\n"
         "target_port = 636\n"
         "balance = \"least-connections\"\n";
}

TEST(ConfigFile, CheckPrintsTheConfigurationAsTomlThatChecksBackToTheSameText) {
  TempDir dir;
  const auto path = dir.write("edge.toml", twoRoutes());
  const auto first = run_edge_to_exit({"check", "--config", path}, {});
  ASSERT_EQ(first.status, 0) << joined(first.err);
  EXPECT_TRUE(first.err.empty()) << joined(first.err);
  const auto printed = joined(first.out);
  EXPECT_NE(printed.find("[[route]]\nname = \"sftp\"\nlisten = \"127.0.0.1:2222\"\n"),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find("name = \"ldaps\"\nlisten = \"636\"\n"), std::string::npos) << printed;
  EXPECT_NE(printed.find("connect_timeout = \"3s\""), std::string::npos) << printed;

  const auto again_path = dir.write("again.toml", printed);
  const auto again = run_edge_to_exit({"check", "--config", again_path}, {});
  ASSERT_EQ(again.status, 0) << joined(again.err);
  EXPECT_EQ(joined(again.out), printed);
}

TEST(ConfigFile, CheckWithoutAFileDescribesTheDefaultRouteFromFlagsAndEnv) {
  const auto run = run_edge_to_exit({"check", "--listen", "2222"},
                                    {{"ECS_SERVICE_DISCOVERY_TARGET", "_sftp._tcp.example"}});
  ASSERT_EQ(run.status, 0) << joined(run.err);
  const auto printed = joined(run.out);
  EXPECT_NE(
      printed.find("name = \"default\"\nlisten = \"2222\"\ntarget = \"_sftp._tcp.example\"\n"),
      std::string::npos)
      << printed;
}

TEST(ConfigFile, CheckOfABadFileExitsTwoWithTheExactLine) {
  TempDir dir;
  const auto path = dir.write("edge.toml", twoRoutes() + "port_override = \"x\"\n");
  const auto run = run_edge_to_exit({"check", "--config", path}, {});
  EXPECT_EQ(run.status, 2);
  EXPECT_TRUE(run.out.empty()) << joined(run.out);
  EXPECT_EQ(run.err, std::vector<std::string>{"edge-connector: " + path +
                                              ":17: route \"ldaps\": key port_override: \"x\" is "
                                              "not a port (1-65535)"});
}

TEST(ConfigFile, BadFileStopsStartUpWithStatusTwoAndOneLinePerProblem) {
  TempDir dir;
  const auto path = dir.write("edge.toml", "colour = \"red\"\n" + twoRoutes() +
                                               "\n[[route]]\nname = \"sftp\"\nlisten = 2223\n"
                                               "target = \"x.example\"\n");
  const auto run = run_edge_to_exit({"--config", path}, {});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err,
            (std::vector<std::string>{
                "edge-connector: " + path +
                    ":1: key colour: is not an option (see the configuration reference)",
                "edge-connector: " + path +
                    ":20: route \"sftp\": key name: \"sftp\" is already the name of the route at "
                    "line 6"}));
}

TEST(ConfigFile, RouteOptionFromTheEnvironmentNextToRouteTablesStopsStartUp) {
  TempDir dir;
  const auto path = dir.write("edge.toml", twoRoutes());
  const auto run = run_edge_to_exit({}, {{"EDGE_CONFIG", path}, {"TARGET_PORT", "22"}});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err, std::vector<std::string>{"edge-connector: --target-port / TARGET_PORT: is a "
                                              "route option; with [[route]] tables in " +
                                              path + ", set it in the file"});
}

TEST(ConfigFile, MissingFileStopsStartUp) {
  const auto run = run_edge_to_exit({"--config", "/nonexistent/edge.toml"}, {});
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.err, std::vector<std::string>{"edge-connector: /nonexistent/edge.toml: cannot "
                                              "read the configuration file: No such file or "
                                              "directory"});
}

class ConfigFileServing : public EdgeFixture {
 protected:
  std::string greeting(std::uint16_t port) {
    auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout);
    if (!client) return "<connect failed>";
    auto line = client->read_line(kIoTimeout);
    client->shutdown_write();
    client->wait_closed(kIoTimeout);
    return line.value_or("<no greeting>");
  }

  std::string globals() {
    return "dns_servers = [\"" + dns().address() +
           "\"]\nmin_refresh = \"1s\"\nmax_refresh = \"2s\"\nconnect_timeout = \"2s\"\n";
  }

  TempDir dir_;
};

TEST_F(ConfigFileServing, AFileWithoutRouteTablesServesItsOneRoute) {
  auto& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto path = dir_.write("edge.toml", globals() +
                                                "name = \"sftp\"\nlisten = \"127.0.0.1:0\"\n"
                                                "target = \"" +
                                                std::string(kService) + "\"\n");
  start_edge_with({.args = {"--config", path}, .default_listen = false});
  EXPECT_EQ(greeting(edge().port()), "b1");
}

// Needs the runtime that serves every route (the lead's refactor); until then only the first
// route listens.
TEST_F(ConfigFileServing, TwoRoutesServeTwoServicesOnTwoPortsBySrvAndByA) {
  auto& b1 = add_greet_echo("b1");
  auto& b2 = add_greet_echo("b2");
  DnsRecords records;
  add_srv(records, b1);
  records.hosts.push_back({"app.svc.test", "127.0.0.1"});
  start_dns(records);
  const auto p1 = free_port();
  const auto p2 = free_port();
  const auto path = dir_.write(
      "edge.toml", globals() + "\n[[route]]\nname = \"srv\"\nlisten = \"127.0.0.1:" +
                       std::to_string(p1) + "\"\ntarget = \"" + std::string(kService) +
                       "\"\n\n[[route]]\nname = \"a\"\nlisten = \"127.0.0.1:" + std::to_string(p2) +
                       "\"\ntarget = \"app.svc.test\"\ntype = \"a\"\ntarget_port = " +
                       std::to_string(b2.port()) + "\n");
  start_edge_with({.args = {"--config", path}, .default_listen = false});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(greeting(p1), "b1");
    EXPECT_EQ(greeting(p2), "b2");
  }
}

}  // namespace
}  // namespace edge::test
