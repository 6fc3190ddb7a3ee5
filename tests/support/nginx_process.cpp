#include "nginx_process.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "client.h"
#include "free_port.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNginx = "/usr/sbin/nginx";
constexpr const char* kStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

}  // namespace

NginxProcess::NginxProcess(NginxOptions options) : options_(options) {
  std::string pattern = (std::filesystem::temp_directory_path() / "edge-nginx-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  try {
    start_on_free_port(port_, [this] { start(); });
  } catch (const std::runtime_error&) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

NginxProcess::~NginxProcess() {
  stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void NginxProcess::start() {
  const std::string port = std::to_string(port_);
  {
    std::ofstream conf(dir_ + "/nginx.conf", std::ios::trunc);
    // No master process: the PID we started is the server, and no worker switches user.
    conf << "load_module " << kStreamModule << ";\n"
         << "daemon off;\n"
         << "master_process off;\n"
         << "worker_processes 1;\n"
         << "pid " << dir_ << "/nginx.pid;\n"
         << "error_log " << dir_ << "/error.log info;\n"
         << "events { worker_connections 256; }\n"
         << "stream {\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port << " proxy_protocol;\n";
    if (options_.ipv6) conf << "    listen [::1]:" << port << " proxy_protocol;\n";
    conf << "    proxy_protocol_timeout 5s;\n"
         << "    return \"$proxy_protocol_addr:$proxy_protocol_port\\n\";\n"
         << "  }\n"
         << "}\n";
    if (!conf) throw std::runtime_error("cannot write " + dir_ + "/nginx.conf");
  }
  // -e: the error log from the start (before the config is read), so nothing goes to /var/log.
  process_ = std::make_unique<Subprocess>(SubprocessOptions{
      .argv = {kNginx, "-p", dir_ + "/", "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"}});
  const bool ready = run_until(
      [this] {
        // A bare connection: nginx logs a broken header for it, which does no harm.
        return !process_->running() || TcpClient::connect("127.0.0.1", port_, 200ms).has_value();
      },
      10s, 20ms);
  if (!ready || !process_->running()) {
    stop();
    std::string message = "nginx did not start on port " + std::to_string(port_) + ":";
    for (const auto& line : error_log()) message += "\n  " + line;  // a few lines at start-up
    throw std::runtime_error(message);
  }
}

void NginxProcess::stop() {
  if (process_ == nullptr) return;
  process_->terminate(2s);  // SIGTERM to its PID, SIGKILL if it lingers
  process_.reset();
}

std::vector<std::string> NginxProcess::error_log() const {
  std::vector<std::string> lines;
  std::ifstream in(dir_ + "/error.log");
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (process_ != nullptr) {
    for (auto& line : process_->lines_err()) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace edge::test
