#pragma once
// Listener handover for a binary upgrade without refused or reset connections: the running
// (old) process passes its listening sockets to a new process over a Unix socket (SCM_RIGHTS),
// as HAProxy's `expose-fd listeners` and Envoy's hot restart do. Both processes then hold the
// same sockets, so whatever sits in an accept queue is accepted by one of them; nothing is
// closed under a client. The old process must then only close() its descriptors (never
// shutdown() a listening socket: that would stop the shared socket for the new process too).
//
// Protocol, version 1. A SOCK_SEQPACKET Unix socket at PATH (mode 0600), so every message
// keeps its boundaries and its descriptor. Integers are big-endian.
//   1. new -> old  hello:   "EDGEHOVR" (8 bytes), version (u32)                   12 bytes
//      (the old process sends nothing before it: a probe that only connects and closes, as
//      HandoverServer::start does on a live PATH, receives no descriptor)
//      The old process checks SO_PEERCRED: the peer must have our uid, or be root (the new
//      process, unless root, checks the same of the old one).
//   2. old -> new  header:  "EDGEHOVR", version (u32), count N (u32)              16 bytes
//   3. old -> new  N times: key length (u16), key (<= 512 bytes), with exactly one
//                  descriptor attached (SCM_RIGHTS): a listening TCP socket
//   4. new -> old  'S' (1 byte): the new process accepts on every descriptor (serving)
//   5. old -> new  'D' (1 byte): the old process stopped serving the handover and removed
//                  PATH (if still its own), so the new process may bind PATH at once for the
//                  next upgrade. Then the old process calls on_taken_over(new pid), once.
// A peer that leaves (or stays silent past the timeout, 30 s) before 4 changes nothing: the
// old process logs `upgrade: pid P went away before serving; still serving` and a later
// upgrade may try again. After 4 the handover is committed.
//
// PATH's directory must let the process create and remove PATH; after a privilege drop
// (--user) that means a directory the user owns (systemd: RuntimeDirectory=).

#include <sys/types.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/fd.h"

namespace edge::app {

// One listening socket. `key` is opaque to the handover (the server's wiring writes route
// name + "|" + local address); at most kMaxHandoverKey bytes.
struct HandedListener {
  std::string key;
  int fd = -1;
};

inline constexpr size_t kMaxHandoverKey = 512;
inline constexpr std::chrono::milliseconds kHandoverTimeout{30000};

// The old process's side. Runs on `io` (the main thread's io_context) and never blocks it;
// every method and callback runs on that thread. Borrows the descriptors `listeners` returns
// (they stay the caller's: the handover sends copies). `listeners` is called for each new
// process that says hello; `on_taken_over` at most once, after the new process said it serves.
class HandoverServer {
 public:
  HandoverServer(asio::io_context& io, std::string path,
                 std::function<std::vector<HandedListener>()> listeners,
                 std::function<void(pid_t)> on_taken_over,
                 std::chrono::milliseconds timeout = kHandoverTimeout);
  ~HandoverServer();  // stop()
  HandoverServer(const HandoverServer&) = delete;
  HandoverServer& operator=(const HandoverServer&) = delete;

  // Binds PATH (mode 0600) and starts accepting. A socket file nobody answers on (left by a
  // crash) is replaced; a file that is not a socket, or a socket another process serves, is
  // an error naming it. False with `error` set on failure.
  bool start(std::string& error);
  // Stops accepting, ends handovers in progress, removes PATH if it is still the file we
  // bound. Idempotent; also done by a handover that completed.
  void stop();

  const std::string& path() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with pending handlers, which outlive stop()
};

// The new process's side. Blocking (it runs before any other thread starts); every wait is
// bounded by the timeout given to connect(). Move-only; owns the received descriptors until
// listeners() hands them over, and closes whatever it still owns on destruction.
class HandoverClient {
 public:
  // Connects to PATH, says hello and receives every listening socket. Each one is checked: a
  // socket (SO_TYPE SOCK_STREAM, AF_INET/AF_INET6) that listens (SO_ACCEPTCONN). nullopt
  // with `error` set on anything else (no leak: every received descriptor is closed).
  static std::optional<HandoverClient> connect(const std::string& path,
                                               std::chrono::milliseconds timeout,
                                               std::string& error);

  HandoverClient(HandoverClient&&) noexcept = default;
  HandoverClient& operator=(HandoverClient&&) noexcept = default;
  ~HandoverClient();

  // The received sockets (CLOEXEC, non-blocking mode as the old process left it), in the
  // order sent. Ownership passes to the caller; a second call returns nothing.
  std::vector<HandedListener> listeners();
  // Tells the old process we accept on the sockets and waits for its acknowledgement (PATH
  // is then free). False with `error` set if it did not come.
  bool confirmServing(std::string& error);
  // The old process (SO_PEERCRED), for the log.
  pid_t peerPid() const { return peer_pid_; }

 private:
  HandoverClient() = default;

  net::Fd socket_;
  std::chrono::milliseconds timeout_{0};
  pid_t peer_pid_ = 0;
  std::vector<std::string> keys_;
  std::vector<net::Fd> fds_;
};

}  // namespace edge::app
