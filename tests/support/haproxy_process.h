// HaproxyProcess: a real HAProxy (Debian's /usr/sbin/haproxy) in TCP mode in front of a server,
// sending it the PROXY protocol, as a load balancer in front of edge-connector would.
//
// Writes its configuration to a temporary directory and runs `haproxy -f CONF -db` in the
// foreground (no daemon, chroot or user switch). Besides the listener under test it binds a
// second "ready" port that rejects every connection: once that one accepts, every listener is
// bound (HAProxy binds them all before serving), and no probe connection ever reaches the
// server behind it. Stopped by PID in the destructor. Test main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "subprocess.h"

namespace edge::test {

struct HaproxyOptions {
  std::string bind_address = "127.0.0.1";  // the listener clients connect to ("::1" for IPv6)
  std::string server = "127.0.0.1:0";      // where it forwards: "ADDR:PORT"
  // What the server line adds: "send-proxy-v2", "send-proxy", "send-proxy-v2 check
  // check-send-proxy inter 200ms", ...
  std::string server_options = "send-proxy-v2";
};

class HaproxyProcess {
 public:
  // Picks free ports, starts HAProxy and waits (bounded) until it accepts; throws on failure.
  explicit HaproxyProcess(HaproxyOptions options);
  ~HaproxyProcess();
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  std::uint16_t port() const { return port_; }  // the listener under test
  const std::string& config() const { return config_text_; }
  bool running() const { return process_ && process_->running(); }
  Subprocess& process() { return *process_; }

 private:
  HaproxyOptions options_;
  std::string dir_;
  std::string config_text_;
  std::uint16_t port_ = 0;
  std::uint16_t ready_port_ = 0;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace edge::test
