// Dnsmasq: a real DNS server for a test, serving exactly the records it is given.
//
// Runs /usr/sbin/dnsmasq in the foreground on 127.0.0.1:<port> (UDP and TCP), with no upstream,
// no /etc/hosts and no config file. It is authoritative-looking for the zone "test"
// (`--local=/test/`): a name under .test that has no record gets NXDOMAIN (without it dnsmasq
// answers REFUSED), a known name with another type gets NOERROR and no answer (NODATA).
//
// TTL, verified with dig against dnsmasq 2.90: `--local-ttl=1` puts TTL 1 on SRV answers
// (`--srv-host`) and on A answers (`--host-record`) alike, including the A records it adds to
// the additional section of an SRV answer.
//
// Owned by the test's main thread; the constructor and restart() return only once the server
// answers queries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "subprocess.h"

namespace edge::test {

struct SrvRecord {
  std::string name{};    // e.g. "_edge._tcp.svc.test"
  std::string target{};  // a host name; give it a HostRecord
  std::uint16_t port = 0;
  std::uint16_t priority = 10;
  std::uint16_t weight = 10;
};

struct HostRecord {
  std::string name{};
  std::string address{};  // IPv4 or IPv6 literal
};

struct DnsRecords {
  std::vector<SrvRecord> srv{};
  std::vector<HostRecord> hosts{};
};

struct DigResult {
  std::string status;                // "NOERROR", "NXDOMAIN", ...; empty if dig got no answer
  std::vector<std::string> answers;  // answer-section lines as dig prints them
};

class Dnsmasq {
 public:
  // Picks a free port, starts the server and waits until it answers; throws on failure.
  explicit Dnsmasq(DnsRecords records);
  ~Dnsmasq();
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>", the form --dns-server takes
  bool running() const;

  void stop();
  // Stops (if running) and starts again on the same port with `records`.
  void restart(DnsRecords records);

  // Asks the running server with dig (a second opinion, independent of this fixture's code).
  DigResult dig(const std::string& name, const std::string& type) const;

  // How many queries of `type` for `name` the current server process has logged.
  std::size_t queries_for(const std::string& name, const std::string& type) const;

  // The server's log (stderr) of the current process, for failure messages.
  std::vector<std::string> log() const;

 private:
  void start();
  std::vector<std::string> command() const;

  DnsRecords records_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace edge::test
