// NginxProcess: a real nginx (Debian's, with the stream module) that reads PROXY protocol
// headers, for the --send-proxy tests.
//
// Writes its own nginx.conf into a fresh temporary directory (pid file, error log and temp paths
// all inside it, so it runs as root or not), runs /usr/sbin/nginx in the foreground without a
// master process, and serves one stream server on 127.0.0.1:<port> (and [::1]:<port>) that takes
// a PROXY v1 or v2 header and answers "$proxy_protocol_addr:$proxy_protocol_port\n": the client
// address the header announced. Returns once the port accepts; the destructor stops nginx (by
// its PID) and removes the directory. Test main thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "subprocess.h"

namespace edge::test {

struct NginxOptions {
  bool ipv6 = true;  // also listen on [::1]:<port>
};

class NginxProcess {
 public:
  // Picks a free port, starts nginx and waits (bounded) until it accepts; throws on failure.
  explicit NginxProcess(NginxOptions options = {});
  ~NginxProcess();
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() const { return process_ != nullptr && process_->running(); }

  // nginx's error log (one line each), for failure messages.
  std::vector<std::string> error_log() const;

 private:
  void start();
  void stop();

  NginxOptions options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace edge::test
