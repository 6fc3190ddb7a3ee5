#include "dnsmasq.h"

#include <chrono>
#include <stdexcept>

#include "dns_query.h"
#include "free_port.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";
constexpr const char* kReadyProbe = "ready-probe.test";  // any name in the zone will do

std::string tail(const std::vector<std::string>& lines) {
  std::string out;
  const std::size_t from = lines.size() > 10 ? lines.size() - 10 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) out += "\n  " + lines[i];
  return out;
}

}  // namespace

Dnsmasq::Dnsmasq(DnsRecords records) : records_(std::move(records)) {
  start_on_free_port(port_, [this] { start(); });
}

Dnsmasq::~Dnsmasq() {
  stop();
}

std::string Dnsmasq::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

bool Dnsmasq::running() const {
  return process_ != nullptr && process_->running();
}

std::vector<std::string> Dnsmasq::command() const {
  std::vector<std::string> argv = {kDnsmasq,
                                   "--keep-in-foreground",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--conf-file=/dev/null",
                                   "--pid-file",  // no argument: write no pid file
                                   "--bind-interfaces",
                                   "--listen-address=127.0.0.1",
                                   "--port=" + std::to_string(port_),
                                   "--local-ttl=1",
                                   "--local=/test/",
                                   "--log-facility=-",  // log to stderr, where we capture it
                                   "--log-queries"};
  for (const auto& srv : records_.srv) {
    argv.push_back("--srv-host=" + srv.name + "," + srv.target + "," + std::to_string(srv.port) +
                   "," + std::to_string(srv.priority) + "," + std::to_string(srv.weight));
  }
  for (const auto& host : records_.hosts) {
    argv.push_back("--host-record=" + host.name + "," + host.address);
  }
  return argv;
}

void Dnsmasq::start() {
  process_ = std::make_unique<Subprocess>(SubprocessOptions{.argv = command()});
  const bool ready = run_until(
      [this] {
        return !process_->running() ||
               dns_rcode("127.0.0.1", port_, kReadyProbe, kDnsTypeA, 100ms).has_value();
      },
      5s, 20ms);
  if (!ready || !process_->running()) {
    const auto log_lines = process_->lines_err();
    process_.reset();
    throw std::runtime_error("dnsmasq did not start on port " + std::to_string(port_) + ":" +
                             tail(log_lines));
  }
}

void Dnsmasq::stop() {
  if (process_ == nullptr) return;
  process_->terminate(2s);
  process_.reset();
}

void Dnsmasq::restart(DnsRecords records) {
  stop();
  records_ = std::move(records);
  // The port was ours a moment ago; retry briefly in case the kernel has not let go of it yet.
  std::string last_error;
  const bool started = run_until(
      [&] {
        try {
          start();
          return true;
        } catch (const std::runtime_error& e) {
          last_error = e.what();
          return false;
        }
      },
      10s, 100ms);
  if (!started) throw std::runtime_error("dnsmasq restart failed: " + last_error);
}

DigResult Dnsmasq::dig(const std::string& name, const std::string& type) const {
  Subprocess dig_process(
      SubprocessOptions{.argv = {"dig", "@127.0.0.1", "-p", std::to_string(port_), "+time=1",
                                 "+tries=2", "+noall", "+comments", "+answer", name, type}});
  if (!dig_process.wait_exit(5s)) throw std::runtime_error("dig did not finish");
  DigResult result;
  for (const auto& line : dig_process.lines_out()) {
    const auto at = line.find("status: ");
    if (at != std::string::npos) {
      const auto from = at + 8;
      result.status = line.substr(from, line.find(',', from) - from);
    } else if (!line.empty() && line[0] != ';') {
      result.answers.push_back(line);
    }
  }
  return result;
}

std::size_t Dnsmasq::queries_for(const std::string& name, const std::string& type) const {
  if (process_ == nullptr) return 0;
  // dnsmasq logs "query[SRV] _edge._tcp.svc.test from 127.0.0.1"
  return process_->count_lines(Stream::err, "query[" + type + "] " + name + " from");
}

std::vector<std::string> Dnsmasq::log() const {
  return process_ != nullptr ? process_->lines_err() : std::vector<std::string>{};
}

}  // namespace edge::test
