#pragma once
// One admin HTTP connection: read -> parse -> handler -> write, again while the client keeps it
// alive. Each step starts the next, and all of them (timer included) run on the connection's
// strand, its socket's executor: the connection needs no lock of its own, and stop() can post to
// it from another thread.
//
// Deadlines (a client on the host can be hostile, or just a browser tab left open): the whole
// request within kReadTimeout (a client sending a byte a second gets no more), each write must
// progress within kWriteTimeout, kIdleTimeout between requests, at most kMaxRequests on one
// connection. An answer that ends the connection is followed by a lingering close: the send side
// is shut and what the client still sends is read and dropped for a while, so that the client
// reads the answer (a 413, a 431) instead of a reset.

#include <array>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "admin/http_request.h"
#include "admin/http_response.h"

namespace edge::admin {

class HttpConnection;

// The live connections, oldest first: counted (the server caps them) and stopped together.
class ConnectionSet {
 public:
  bool add(const std::shared_ptr<HttpConnection>& connection);  // false once closed
  void remove(const HttpConnection* connection);
  size_t size() const;
  // Stops the oldest connection (after its answer if it is writing one) and forgets it.
  void stopOldest();
  // Stops every connection (each answers the request it is on first); add() refuses from now on.
  void close();

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<const HttpConnection*, std::weak_ptr<HttpConnection>>> live_;
  bool closed_ = false;
};

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  // Called on an admin thread; may block (the server has a few threads for that).
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  static constexpr std::chrono::seconds kReadTimeout{5};
  static constexpr std::chrono::seconds kWriteTimeout{5};
  static constexpr std::chrono::seconds kIdleTimeout{1};
  static constexpr size_t kMaxRequests = 100;
  static constexpr std::chrono::seconds kLingerTimeout{2};
  static constexpr size_t kMaxLingerBytes = 1024 * 1024;

  // `socket`'s executor should be a strand of its own; `handler` and `set` outlive the connection.
  HttpConnection(asio::ip::tcp::socket socket, const Handler& handler, ConnectionSet& set);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();  // any thread
  void stop();   // any thread: closes it when idle or reading, after the answer when writing

 private:
  enum class State { reading, writing, lingering, closed };

  using Clock = std::chrono::steady_clock;
  void watch();
  void setDeadline(Clock::time_point deadline);
  void read();
  void process();
  void send(HttpResponse response, bool head_only, bool keep_alive);
  void linger();
  void drain();
  void close();

  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  const Handler& handler_;
  ConnectionSet& set_;
  std::string remote_;
  State state_ = State::reading;
  bool stopping_ = false;
  bool idle_ = false;  // waiting for the first byte of the next request (kIdleTimeout)
  bool keep_alive_ = false;
  size_t served_ = 0;
  size_t drained_ = 0;
  Clock::time_point deadline_;
  std::array<char, 4096> chunk_{};
  std::string buffer_;  // received, not yet consumed
  RequestParser parser_;
  std::string head_;  // the answer being written
  std::string body_;
};

}  // namespace edge::admin
