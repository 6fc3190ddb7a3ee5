#pragma once
// The admin HTTP endpoint (--admin): health, readiness, metrics, targets, connections, reload
// and the status page, served by cpp-httplib on a thread of its own with a small pool, never on
// a worker's loop. The data comes from `Handlers`, called on the admin threads; each provider
// does its own locking or asks the thread that owns the data.
//
// Two steps, because of the privilege drop: bind() before it (a port below 1024 still works, and
// "address taken" is known while start-up can still decide what to do), start() after it (the
// drop refuses when other threads exist).

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace httplib {
class Server;
}

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

  // Serves on a thread of its own (and a pool of kThreads for requests). Once.
  void start();
  // Stops accepting, waits for requests being answered, joins. Idempotent.
  void stop();

  static constexpr size_t kThreads = 3;

 private:
  AdminServer(asio::ip::tcp::endpoint endpoint, Handlers handlers);
  void routes();

  asio::ip::tcp::endpoint endpoint_;
  Handlers handlers_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> ended_{false};  // the serving thread returned
  std::thread thread_;
};

}  // namespace edge::admin
