#pragma once
// The admin HTTP endpoint (--admin): health, readiness, metrics, targets, connections, reload
// and the status page, served by a small HTTP/1.1 server of its own (http_request.h,
// http_connection.h) on an asio io_context run by kThreads threads, never on a worker's loop. The
// data comes from `Handlers`, called on the admin threads; each provider does its own locking or
// asks the thread that owns the data.
//
// Two steps, because of the privilege drop: bind() before it (a port below 1024 still works, and
// "address taken" is known while start-up can still decide what to do), start() after it (the
// drop refuses when other threads exist).

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "admin/http_connection.h"

namespace edge::admin {

struct Handlers {
  // (ready, why not): 200 or 503 with the reason.
  std::function<std::pair<bool, std::string>()> ready;
  // Prometheus text exposition format 0.0.4.
  std::function<std::string()> metrics;
  // JSON text (see README, Admin endpoint).
  std::function<std::string()> targets;
  // JSON text: at most `limit` connections, of `route` only when given. May block (~1 s).
  std::function<std::string(std::optional<std::string> route, size_t limit)> connections;
  // As SIGHUP: (applied, what happened). Blocks until the main thread has done it.
  std::function<std::pair<bool, std::string>()> reload;
};

// Limits of /connections?limit=.
inline constexpr size_t kDefaultConnectionLimit = 1000;
inline constexpr size_t kMaxConnectionLimit = 100000;

// Parses ?limit= ("" when absent: the default). nullopt with `error` set for anything else
// than a number in 1..kMaxConnectionLimit.
std::optional<size_t> parseLimit(const std::optional<std::string>& text, std::string& error);

class AdminServer {
 public:
  struct BindError {
    std::error_code code;  // e.g. std::errc::address_in_use
    std::string message;   // names the address
  };

  // Binds and listens on `endpoint` (port 0: one the kernel picks). nullptr with `error` set when
  // the address cannot be bound. Starts no thread.
  static std::unique_ptr<AdminServer> bind(const asio::ip::tcp::endpoint& endpoint,
                                           Handlers handlers, BindError& error);

  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // The bound address (the real port when 0 was asked for).
  const asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

  // Serves on kThreads threads of its own. Once.
  void start();
  // Stops accepting, waits for requests being answered, joins. Idempotent.
  void stop();

  // Threads: a slow /connections (~1 s) or a /reload waiting for the main thread leaves others
  // for /healthz. Idle connections take no thread.
  static constexpr size_t kThreads = 3;
  // Connections open at once, so that a client on the host cannot make the endpoint use memory
  // (or descriptors) without bound. Beyond it each new connection closes the oldest one (with a
  // log line at most every kWarnEvery): connections left open (idle, or slow on purpose)
  // cannot keep a probe out, the probe being the newest. A browser uses about 6, a probe 1.
  static constexpr size_t kMaxConnections = 64;
  static constexpr std::chrono::seconds kWarnEvery{10};

 private:
  AdminServer(asio::ip::tcp::endpoint endpoint, Handlers handlers);
  HttpResponse respond(const HttpRequest& request) const;
  HttpResponse route(const HttpRequest& request) const;
  void accept();
  bool warnNow();

  asio::ip::tcp::endpoint endpoint_;
  Handlers handlers_;
  HttpConnection::Handler respond_;  // respond(), for the connections
  // Declared before io_: connections that io_ still holds when it is destroyed remove themselves.
  ConnectionSet connections_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;  // on a strand: stop() posts to it
  asio::steady_timer accept_retry_;   // after an accept error (EMFILE): not in a busy loop
  std::chrono::steady_clock::time_point last_warning_{};
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace edge::admin
