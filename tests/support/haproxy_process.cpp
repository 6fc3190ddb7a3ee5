#include "haproxy_process.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "client.h"
#include "free_port.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

std::string bindText(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

}  // namespace

HaproxyProcess::HaproxyProcess(HaproxyOptions options) : options_(std::move(options)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "edge-haproxy-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  port_ = free_port("127.0.0.1");  // IPv4 only: a port free there is free on ::1 too, almost surely
  ready_port_ = free_port("127.0.0.1");
  config_text_ =
      "global\n"
      "  maxconn 256\n"
      "defaults\n"
      "  mode tcp\n"
      "  timeout connect 2s\n"
      "  timeout client 30s\n"
      "  timeout server 30s\n"
      "  timeout check 1s\n"
      "listen front\n"
      "  bind " +
      bindText(options_.bind_address, port_) +
      "\n"
      "  server s " +
      options_.server + " " + options_.server_options +
      "\n"
      "frontend ready\n"
      "  bind 127.0.0.1:" +
      std::to_string(ready_port_) +
      "\n"
      "  tcp-request connection reject\n";
  const std::string path = dir_ + "/haproxy.cfg";
  std::ofstream(path) << config_text_;
  process_ = std::make_unique<Subprocess>(
      SubprocessOptions{.argv = {"/usr/sbin/haproxy", "-f", path, "-db"}});
  const bool up = run_until(
      [&] { return !process_->running() || TcpClient::connect("127.0.0.1", ready_port_, 200ms); },
      10s, 20ms);
  if (!up || !process_->running()) {
    std::string why;
    for (const auto& line : process_->lines_err()) why += "\n  " + line;
    throw std::runtime_error("haproxy did not start:" + why + "\nconfig:\n" + config_text_);
  }
}

HaproxyProcess::~HaproxyProcess() {
  if (process_) process_->terminate(3s);  // SIGTERM to its PID, SIGKILL after the grace
  process_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace edge::test
