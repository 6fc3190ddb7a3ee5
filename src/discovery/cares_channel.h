#pragma once
// RAII c-ares channel driven by poll() on the discovery thread. c-ares 1.18 wants one thread per
// channel; the discovery thread is that thread, so no other code may call into this class.

#include <ares.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
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

  // Queries `name` (no search list; presentation form, \DDD escapes allowed, as dns_wire writes
  // names) for class IN and `type`. `done` may run before query() returns (a name c-ares
  // refuses is reported at once as ARES_EBADNAME).
  void query(const std::string& name, int type, Callback done);

  // Waits for c-ares socket activity or timeouts, at most `max_wait`, and processes it;
  // returns early when `wake_fd` becomes readable.
  void waitAndProcess(std::chrono::milliseconds max_wait, int wake_fd);

 private:
  explicit CaresChannel(ares_channel channel) : channel_(channel) {}
  // Socket functions: plain syscalls, plus a look at every reply's response code. c-ares 1.18
  // swallows SERVFAIL, REFUSED and NOTIMP replies (it tries the next server) and ends the query
  // with ARES_ECONNREFUSED; the code seen here turns that back into what the server said.
  static ares_ssize_t recvFrom(ares_socket_t fd, void* data, size_t length, int flags,
                               sockaddr* from, ares_socklen_t* from_length, void* self);
  static int closeSocket(ares_socket_t fd, void* self);
  void noteReply(std::span<const uint8_t> message);
  void noteTcpBytes(int fd, std::span<const uint8_t> bytes);

  ares_channel channel_;
  std::map<std::pair<std::string, int>, int> rcodes_;  // (question, type) -> last error rcode
  std::map<int, std::vector<uint8_t>> tcp_streams_;    // per TCP socket: bytes of a reply so far
};

// The ARES_* status a reply's response code means (ARES_SUCCESS for NOERROR).
int statusOfRcode(int rcode);

// Short, log-friendly name of an ARES_* status ("NXDOMAIN", "timeout", ...).
std::string caresStatusName(int status);

}  // namespace edge::discovery
