#include "edge_fixture.h"

#include <signal.h>

#include <algorithm>
#include <iostream>

namespace edge::test {
namespace {

void print_tail(const std::string& title, const std::vector<std::string>& lines,
                std::size_t count) {
  std::cout << "---- " << title << " (last " << std::min(count, lines.size()) << " of "
            << lines.size() << " lines)\n";
  const std::size_t from = lines.size() > count ? lines.size() - count : 0;
  for (std::size_t i = from; i < lines.size(); ++i) std::cout << "  " << lines[i] << "\n";
}

// The first line of a report from ASan, LSan, TSan or UBSan (sanitizer builds of the daemon).
bool is_sanitizer_report(const std::string& line) {
  for (const char* marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                             "WARNING: ThreadSanitizer", "runtime error: "}) {
    if (line.find(marker) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

std::string describe(const std::map<std::string, int>& counts) {
  std::string out;
  for (const auto& [key, count] : counts) {
    out += (out.empty() ? "" : " ") + key + "=" + std::to_string(count);
  }
  return out;
}

void EdgeFixture::TearDown() {
  if (edge_ != nullptr) {
    if (!edge_->process().running() && !edge_exit_expected_) {
      const auto status = edge_->process().wait_exit(0ms);
      ADD_FAILURE() << "edge-connector died during the test, exit status "
                    << (status ? std::to_string(*status) : "?") << " (128+N: signal N)";
    } else if (edge_->process().running()) {
      // A clean stop lets sanitizer builds run their exit checks (LeakSanitizer).
      edge_->process().terminate(5s);
    }
    for (const auto& line : edge_->stderr_lines()) {
      if (is_sanitizer_report(line)) ADD_FAILURE() << "edge-connector: " << line;
    }
  }
  if (!HasFailure()) return;
  if (edge_ != nullptr) {
    print_tail("edge-connector stderr", edge_->stderr_lines(), 40);
    print_tail("edge-connector stdout (access log)", edge_->stdout_lines(), 20);
  }
  if (dns_ != nullptr) print_tail("dnsmasq log", dns_->log(), 20);
}

Backend& EdgeFixture::start_with_echo_backend(std::vector<std::string> extra_args) {
  Backend& backend = add_greet_echo("echo");
  DnsRecords records;
  add_srv(records, backend);
  start_dns(std::move(records));
  start_edge(std::move(extra_args));
  return backend;
}

Backend& EdgeFixture::add_backend(BackendOptions options) {
  backends_.push_back(std::make_unique<Backend>(std::move(options)));
  return *backends_.back();
}

void EdgeFixture::add_srv(DnsRecords& records, const Backend& backend, std::uint16_t priority,
                          std::uint16_t weight) {
  records.srv.push_back({.name = kService,
                         .target = host_name(backend),
                         .port = backend.port(),
                         .priority = priority,
                         .weight = weight});
  records.hosts.push_back({.name = host_name(backend), .address = backend.address()});
}

DnsRecords EdgeFixture::single_target(std::uint16_t port, const std::string& host) {
  DnsRecords records;
  records.srv.push_back({.name = kService, .target = host, .port = port});
  records.hosts.push_back({.name = host, .address = "127.0.0.1"});
  return records;
}

Dnsmasq& EdgeFixture::start_dns(DnsRecords records) {
  dns_ = std::make_unique<Dnsmasq>(std::move(records));
  return *dns_;
}

std::vector<std::string> EdgeFixture::dns_args() const {
  return {"--dns-server", dns_->address(), "--min-refresh", "1s", "--max-refresh", "2s"};
}

EdgeProcess& EdgeFixture::start_edge(std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"--target", kService};
  // 2 s unless the test asks for another (each flag may be given once).
  if (std::find(extra_args.begin(), extra_args.end(), "--connect-timeout") == extra_args.end()) {
    args.insert(args.end(), {"--connect-timeout", "2s"});
  }
  for (auto& arg : dns_args()) args.push_back(std::move(arg));
  for (auto& arg : extra_args) args.push_back(std::move(arg));
  return start_edge_with({.args = std::move(args)});
}

EdgeProcess& EdgeFixture::start_edge_with(EdgeOptions options) {
  edge_ = std::make_unique<EdgeProcess>(std::move(options));
  return *edge_;
}

bool EdgeFixture::signal_edge(int signo) {
  edge_exit_expected_ = true;
  return ::kill(edge_->process().pid(), signo) == 0;
}

std::string EdgeFixture::greeting_through_edge() {
  auto client = TcpClient::connect("127.0.0.1", edge_->port(), kIoTimeout);
  if (!client) return "<connect failed>";
  auto greeting = client->read_line(kIoTimeout);
  client->shutdown_write();
  client->wait_closed(kIoTimeout);
  return greeting.value_or("<no greeting>");
}

std::map<std::string, int> EdgeFixture::spread(int connections) {
  std::map<std::string, int> counts;
  for (int i = 0; i < connections; ++i) ++counts[greeting_through_edge()];
  return counts;
}

std::vector<LogfmtRecord> EdgeFixture::access_log_for(const Backend& backend) const {
  std::vector<LogfmtRecord> out;
  for (auto& record : edge_->access_log()) {
    if (record.get("target") == backend.endpoint()) out.push_back(std::move(record));
  }
  return out;
}

}  // namespace edge::test
