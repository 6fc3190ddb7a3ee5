// EdgeFixture: one test's world — a dnsmasq, real backends and the real edge-connector, all on
// loopback and all torn down after the test (daemon first, then backends, then DNS).
// Test main thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "client.h"
#include "dnsmasq.h"
#include "edge_process.h"

namespace edge::test {

using namespace std::chrono_literals;

// The SRV name the daemon is pointed at; backends get host names "<id>.svc.test".
inline constexpr const char* kService = "_edge._tcp.svc.test";
inline constexpr std::chrono::milliseconds kIoTimeout = 5s;

// "b1=30 b2=30 <connect failed>=0", for failure messages.
std::string describe(const std::map<std::string, int>& counts);

class EdgeFixture : public ::testing::Test {
 protected:
  // Fails the test if the daemon died during it or a sanitizer reported anything; stops the
  // daemon (SIGTERM); prints all logs if the test failed.
  void TearDown() override;

  Backend& add_backend(BackendOptions options);
  Backend& add_greet_echo(const std::string& id) { return add_backend({.id = id}); }

  static std::string host_name(const Backend& backend) { return backend.id() + ".svc.test"; }
  // An SRV record under kService pointing at `backend`, and the A record of its host name.
  static void add_srv(DnsRecords& records, const Backend& backend, std::uint16_t priority = 10,
                      std::uint16_t weight = 10);

  // The only SRV target under kService: `host` (A record 127.0.0.1) on `port`.
  static DnsRecords single_target(std::uint16_t port, const std::string& host = "manual.svc.test");

  Dnsmasq& start_dns(DnsRecords records);
  // The common set-up: one greet/echo backend (greeting "echo") as the only SRV target, our
  // dnsmasq, and the daemon with `extra_args`.
  Backend& start_with_echo_backend(std::vector<std::string> extra_args = {});
  // The daemon pointed at kService through our dnsmasq, with fast refresh (1 s..2 s), a 2 s
  // connect timeout (unless `extra_args` set --connect-timeout) and `extra_args` appended (do
  // not repeat one of the other flags in them).
  EdgeProcess& start_edge(std::vector<std::string> extra_args = {});
  EdgeProcess& start_edge_with(EdgeOptions options);
  std::vector<std::string> dns_args() const;

  // One connection through the daemon: reads the backend's greeting line, half-closes and
  // waits for the end of the stream. Returns the greeting, or "<no greeting>".
  std::string greeting_through_edge();
  // `connections` sequential greetings, counted by backend id.
  std::map<std::string, int> spread(int connections);
  // Access-log records whose target is `backend`.
  std::vector<LogfmtRecord> access_log_for(const Backend& backend) const;

  Dnsmasq& dns() { return *dns_; }
  EdgeProcess& edge() { return *edge_; }

  // Sends `signo` (SIGTERM, SIGINT) to the daemon, which may then exit: TearDown does not call
  // that a death. False if the signal could not be sent.
  bool signal_edge(int signo);

  // Set by tests that stop the daemon themselves (signals), so TearDown does not call it a death.
  bool edge_exit_expected_ = false;
  std::unique_ptr<Dnsmasq> dns_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::unique_ptr<EdgeProcess> edge_;  // declared last: stopped first
};

}  // namespace edge::test
