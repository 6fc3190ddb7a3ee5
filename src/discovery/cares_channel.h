#pragma once
// RAII c-ares channel driven by poll() on the discovery thread. c-ares 1.18 wants one thread per
// channel; the discovery thread is that thread, so no other code may call into this class.

#include <ares.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace edge::discovery {

class CaresChannel {
 public:
  // status is an ARES_* code; reply is the raw answer (may be empty on errors).
  using Callback = std::function<void(int status, std::span<const uint8_t> reply)>;

  // servers: "ip:port" strings; empty = the system's resolv.conf. On failure `error` is set.
  static std::unique_ptr<CaresChannel> create(const std::vector<std::string>& servers,
                                              std::string& error);
  ~CaresChannel();
  CaresChannel(const CaresChannel&) = delete;
  CaresChannel& operator=(const CaresChannel&) = delete;

  // Queries `name` (as given, no search list) for class IN and `type`.
  void query(const std::string& name, int type, Callback done);

  // Waits for c-ares socket activity or timeouts, at most `max_wait`, and processes it;
  // returns early when `wake_fd` becomes readable.
  void waitAndProcess(std::chrono::milliseconds max_wait, int wake_fd);

 private:
  explicit CaresChannel(ares_channel channel) : channel_(channel) {}
  ares_channel channel_;
};

// Short, log-friendly name of an ARES_* status ("NXDOMAIN", "timeout", ...).
std::string caresStatusName(int status);

}  // namespace edge::discovery
