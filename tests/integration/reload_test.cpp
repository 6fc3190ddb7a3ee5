// Many routes from one --config file, and SIGHUP reloads that never touch a live connection: a
// removed route's transfer completes byte-exact, an invalid file changes nothing, a new target
// name switches without a connection finding no targets, a new listen address is bound before
// the old one closes.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "config_file_fixture.h"
#include "free_port.h"
#include "run_until.h"
#include "transfer.h"

namespace edge::test {
namespace {

constexpr const char* kOtherService = "_other._tcp.svc.test";

class Reload : public ConfigFileFixture {
 protected:
  // The file: resolvers and a short refresh at the top, then `routes` (TOML text).
  void write_config(const std::string& routes) {
    write_file("dns_servers = [\"" + dns().address() + "\"]\nmin_refresh = \"100ms\"\n" +
               "max_refresh = \"1s\"\nworkers = 2\n\n" + routes);
  }
  EdgeProcess& start_with_config(const std::string& routes) {
    write_config(routes);
    return start_on_file();
  }
  // Rewrites the file, sends SIGHUP, waits for the reload's log line; returns it.
  std::string reload(const std::string& routes) {
    write_config(routes);
    const size_t before = reload_lines().size();
    EXPECT_EQ(::kill(edge().process().pid(), SIGHUP), 0);
    std::string line;
    EXPECT_TRUE(run_until(
        [&] {
          const auto lines = reload_lines();
          if (lines.size() <= before) return false;
          line = lines.back();
          return true;
        },
        5s));
    return line;
  }
  std::vector<std::string> reload_lines() {
    std::vector<std::string> out;
    for (const auto& l : edge().stderr_lines()) {
      if (l.find("reload: ") != std::string::npos) out.push_back(l);
    }
    return out;
  }
};

TEST_F(Reload, TwoRoutesServeTwoServicesFoundBySrvAndByA) {
  Backend& b1 = add_greet_echo("b1");
  Backend& b2 = add_greet_echo("b2");
  DnsRecords records;
  add_srv(records, b1);
  records.hosts.push_back({.name = host_name(b2), .address = b2.address()});
  start_dns(records);
  const auto p1 = free_port();
  const auto p2 = free_port();
  start_with_config(route("sftp", p1, kService) +
                    route("ldaps", p2, host_name(b2),
                          "type = \"a\"\ntarget_port = " + std::to_string(b2.port()) +
                              "\nbalance = \"least-connections\""));

  EXPECT_EQ(greeting(p1), "b1");
  EXPECT_EQ(greeting(p2), "b2");
  ASSERT_TRUE(edge().wait_access_log(2, kIoTimeout));
  std::map<std::string, std::string> route_of_target;
  for (const auto& r : edge().access_log()) route_of_target[r.get("target_name")] = r.get("route");
  EXPECT_EQ(route_of_target[host_name(b1)], "sftp");
  EXPECT_EQ(route_of_target[host_name(b2)], "ldaps");
}

TEST_F(Reload, AddsARouteAndRemovesOneWhileItsTransferCompletesByteExact) {
  constexpr std::uint64_t kBytes = 256ULL << 20;
  Backend& echo = add_greet_echo("b1");
  Backend& bulk = add_backend({.id = "bulk",
                               .mode = BackendMode::source_sink,
                               .source_bytes = kBytes,
                               .source_seed = 0x5eed0002});
  DnsRecords records;
  add_srv(records, echo);
  records.srv.push_back({.name = kOtherService, .target = host_name(bulk), .port = bulk.port()});
  records.hosts.push_back({.name = host_name(bulk), .address = bulk.address()});
  start_dns(records);
  const auto p_keep = free_port();
  const auto p_gone = free_port();
  const auto p_new = free_port();
  start_with_config(route("keep", p_keep, kService) + route("gone", p_gone, kOtherService));

  auto client = TcpClient::connect("127.0.0.1", p_gone, kIoTimeout);
  ASSERT_TRUE(client);
  TransferResult result;
  std::thread transfer(
      [&] { result = run_transfer(client->fd(), kBytes, 0x5eed0001, Until::in(60s)); });
  // Reload while bytes flow: the transfer has started when the backend has been reached.
  ASSERT_TRUE(run_until([&] { return bulk.accepted() == 1; }, kIoTimeout));
  const auto line = reload(route("keep", p_keep, kService) + route("new", p_new, kService));
  EXPECT_NE(line.find("reload: removed route gone, added route new"), std::string::npos) << line;

  EXPECT_EQ(greeting(p_new), "b1");
  EXPECT_EQ(greeting(p_keep), "b1");
  EXPECT_TRUE(
      run_until([&] { return !TcpClient::connect("127.0.0.1", p_gone, 1s).has_value(); }, 3s))
      << "the removed route still accepts";
  transfer.join();

  EXPECT_EQ(result.send_end, IoResult::ok) << to_string(result.send_end);
  EXPECT_EQ(result.receive_end, IoResult::eof) << to_string(result.receive_end);
  ASSERT_TRUE(bulk.wait_reports(1, 10s));
  const auto report = bulk.reports().front();
  EXPECT_EQ(report.bytes_received, kBytes);
  EXPECT_EQ(report.hash_received, result.sent_hash);
  EXPECT_EQ(result.received, kBytes);
  EXPECT_EQ(result.received_hash, report.hash_sent);
  EXPECT_TRUE(has_line(edge().stderr_lines(),
                       "route gone: stopped accepting; 1 open connection(s) run on"));
  ASSERT_TRUE(run_until(
      [&] {
        for (const auto& r : edge().access_log()) {
          if (r.get("route") == "gone") return true;
        }
        return false;
      },
      5s));
  for (const auto& r : edge().access_log()) {
    if (r.get("route") != "gone") continue;
    EXPECT_EQ(r.integer("bytes_to_target"), static_cast<long long>(kBytes));
    EXPECT_EQ(r.integer("bytes_to_client"), static_cast<long long>(kBytes));
  }
}

TEST_F(Reload, AnInvalidFileKeepsTheRunningRoutesAndSaysWhy) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto p1 = free_port();
  start_with_config(route("sftp", p1, kService));

  for (const std::string& bad : {route("sftp", p1, kService, "colour = \"blue\""),
                                 std::string("[[route]]\nname = \"x\"\nlisten = \"nope\"\n"),
                                 std::string("this is not toml\n")}) {
    SCOPED_TRACE(bad);
    const auto line = reload(bad);
    EXPECT_NE(line.find("; keeping the running configuration"), std::string::npos) << line;
    EXPECT_NE(line.find(path()), std::string::npos) << "names the file: " << line;
    EXPECT_EQ(greeting(p1), "b1");
  }
  // A valid file after the invalid ones is applied.
  const auto p2 = free_port();
  const auto line = reload(route("sftp", p1, kService) + route("more", p2, kService));
  EXPECT_NE(line.find("reload: added route more"), std::string::npos) << line;
  EXPECT_EQ(greeting(p2), "b1");
}

// Connects every 5 ms until `stop`, counting greetings by backend and failures.
struct ClientLoop {
  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::map<std::string, int> seen;
  std::thread thread;

  explicit ClientLoop(std::uint16_t port) {
    thread = std::thread([this, port] {
      const auto end = std::chrono::steady_clock::now() + 30s;  // bounded
      while (!stop && std::chrono::steady_clock::now() < end) {
        std::string got = "<connect failed>";
        if (auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout)) {
          got = client->read_line(kIoTimeout).value_or("<no greeting>");
        }
        {
          std::lock_guard lock(mutex);
          ++seen[got];
        }
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  int count(const std::string& key) {
    std::lock_guard lock(mutex);
    return seen[key];
  }
  std::map<std::string, int> finish() {
    stop = true;
    thread.join();
    return seen;
  }
};

TEST_F(Reload, ANewTargetNameTakesOverWithoutASingleNoTargets) {
  Backend& b1 = add_greet_echo("b1");
  Backend& b2 = add_greet_echo("b2");
  DnsRecords records;
  add_srv(records, b1);
  records.srv.push_back({.name = kOtherService, .target = host_name(b2), .port = b2.port()});
  records.hosts.push_back({.name = host_name(b2), .address = b2.address()});
  start_dns(records);
  const auto port = free_port();
  start_with_config(route("svc", port, kService));

  ClientLoop loop(port);
  ASSERT_TRUE(run_until([&] { return loop.count("b1") >= 20; }, 10s));
  const auto line = reload(route("svc", port, kOtherService));
  EXPECT_NE(line.find("reload: changed route svc (target)"), std::string::npos) << line;
  ASSERT_TRUE(run_until([&] { return loop.count("b2") >= 20; }, 10s));
  const auto seen = loop.finish();

  EXPECT_EQ(seen.size(), 2u) << describe(seen);  // b1, then b2: nothing else
  for (const auto& r : edge().access_log()) EXPECT_NE(r.get("close"), "no_targets");
}

TEST_F(Reload, AListenChangeBindsTheNewAddressFirstAndRefusesNobody) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto port = free_port();
  // Every interface, then 127.0.0.1 only, on the same port: the loop's address is served
  // throughout, by the old listener, then by the new one.
  start_with_config("[[route]]\nname = \"svc\"\nlisten = \"" + std::to_string(port) +
                    "\"\ntarget = \"" + kService + "\"\n");

  ClientLoop loop(port);
  ASSERT_TRUE(run_until([&] { return loop.count("b1") >= 50; }, 10s));
  const auto line = reload(route("svc", port, kService));
  EXPECT_NE(line.find("reload: changed route svc (listen)"), std::string::npos) << line;
  const int at_reload = loop.count("b1");
  // Past the old listeners' retirement (1 s after the reload).
  ASSERT_TRUE(run_until([&] { return loop.count("b1") >= at_reload + 300; }, 20s));
  const auto seen = loop.finish();

  EXPECT_EQ(seen.size(), 1u) << describe(seen);  // only greetings: no refusal, no reset
  std::cout << "listen change during a 5 ms client loop: " << describe(seen) << "\n";
  // The old listener is gone: 127.0.0.2 (loopback too, but only every-interface served it) is
  // refused now.
  EXPECT_FALSE(TcpClient::connect("127.0.0.2", port, 1s).has_value())
      << "the old every-interface listener still accepts";
}

TEST_F(Reload, AStormOfSighupsWhileClientsConnectChangesNothingAndFailsNoOne) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto port = free_port();
  const auto routes = route("svc", port, kService);
  start_with_config(routes);

  ClientLoop loop(port);
  ASSERT_TRUE(run_until([&] { return loop.count("b1") >= 20; }, 10s));
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(::kill(edge().process().pid(), SIGHUP), 0);
    std::this_thread::sleep_for(1ms);
  }
  // Signals coalesce: at least one reload ran, and each said there was nothing to change.
  ASSERT_TRUE(run_until([&] { return !reload_lines().empty(); }, 5s));
  const int at_storm = loop.count("b1");
  ASSERT_TRUE(run_until([&] { return loop.count("b1") >= at_storm + 50; }, 10s));
  const auto seen = loop.finish();
  EXPECT_EQ(seen.size(), 1u) << describe(seen);
  for (const auto& line : reload_lines())
    EXPECT_NE(line.find("reload: no change"), std::string::npos) << line;
  EXPECT_TRUE(edge().process().running());
}

TEST_F(Reload, ARouteWhosePortIsTakenIsNotAddedAndTheRestIsApplied) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto p1 = free_port();
  const auto p2 = free_port();
  const auto taken = free_port();
  start_with_config(route("one", p1, kService));
  // Another program holds `taken` (no SO_REUSEPORT): the new route cannot bind it.
  Backend squatter({.id = "squatter", .port = taken});

  const auto line = reload(route("one", p1, kService) + route("two", p2, kService) +
                           route("three", taken, kService));
  EXPECT_NE(line.find("reload: added route two"), std::string::npos) << line;
  EXPECT_EQ(line.find("three"), std::string::npos) << line;
  bool said_why = false;
  for (const auto& l : edge().stderr_lines()) {
    said_why = said_why || (l.find("reload: route three: cannot listen on 127.0.0.1:" +
                                   std::to_string(taken)) != std::string::npos);
  }
  EXPECT_TRUE(said_why);
  EXPECT_EQ(greeting(p1), "b1");
  EXPECT_EQ(greeting(p2), "b1");
  EXPECT_EQ(greeting(taken), "squatter");
}

// A reload arms timers (the added route's first-answer wait, 10 s); once every worker drained,
// none may keep the process from exiting.
TEST_F(Reload, SigtermRightAfterAReloadThatAddedARouteStopsAtOnce) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto p1 = free_port();
  const auto p2 = free_port();
  start_with_config(route("sftp", p1, kService));
  const auto line = reload(route("sftp", p1, kService) + route("more", p2, kService));
  ASSERT_NE(line.find("reload: added route more"), std::string::npos) << line;
  EXPECT_EQ(greeting(p2), "b1");
  edge_exit_expected_ = true;
  ASSERT_EQ(::kill(edge().process().pid(), SIGTERM), 0);
  const auto started = std::chrono::steady_clock::now();
  const auto status = edge().process().wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(status) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

TEST_F(Reload, SighupWithoutAConfigFileReloadsNothing) {
  start_with_echo_backend();
  ASSERT_EQ(::kill(edge().process().pid(), SIGHUP), 0);
  ASSERT_TRUE(run_until(
      [&] { return has_line(edge().stderr_lines(), "signal SIGHUP: nothing to reload"); }, 5s));
  EXPECT_EQ(greeting_through_edge(), "echo");
}

TEST_F(Reload, AChangeThatIsNotAboutTargetsKeepsTheRunningLookup) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto port = free_port();
  start_with_config(route("svc", port, kService));
  auto lookups_started = [&] {  // a new lookup logs the target set it found first
    int n = 0;
    for (const auto& l : edge().stderr_lines()) {
      const bool found = l.find(std::string("discovery: ") + kService) != std::string::npos &&
                         l.find(" -> ") != std::string::npos;
      n += found ? 1 : 0;
    }
    return n;
  };
  ASSERT_EQ(lookups_started(), 1);

  const auto line =
      reload(route("svc", port, kService, "connect_retries = 0\nbalance = \"round-robin\""));
  EXPECT_NE(line.find("reload: changed route svc (balance, connect_retries)"), std::string::npos)
      << line;
  EXPECT_EQ(greeting(port), "b1");
  std::this_thread::sleep_for(1500ms);  // past a refresh (max_refresh 1s): nothing new to log
  EXPECT_EQ(lookups_started(), 1) << "the reload restarted the lookup";

  // A new target name does start a lookup (the same set: logged once more).
  reload(route("svc", port, "_edge._tcp.svc.test."));
  EXPECT_TRUE(run_until([&] { return lookups_started() == 2; }, 5s));
  EXPECT_EQ(greeting(port), "b1");
}

}  // namespace
}  // namespace edge::test
