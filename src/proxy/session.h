#pragma once
// One client connection: pick a target, connect (with timeout and retries), pump both ways,
// write the access-log line. Owns both sockets and both directions' pumps; lives on one worker
// thread. While idle it holds no pipe and no buffer (see proxy/pump.h).

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "discovery/target_board.h"
#include "proxy/close_reason.h"
#include "proxy/pump.h"
#include "proxy/session_list.h"
#include "proxy/worker_context.h"

namespace edge::proxy {

class Session {
 public:
  Session(WorkerContext& ctx, asio::ip::tcp::socket client, net::Endpoint client_endpoint);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Runs the connection to its end; the caller keeps the Session alive until then.
  asio::awaitable<void> run();

  // Ends the connection now (shutdown, idle timeout, a reset on the other side).
  // `send_reset`: close with RST so the peer learns the stream did not end cleanly.
  void abort(CloseReason reason, bool send_reset);

  IntrusiveList<Session>::Hook hook;

 private:
  asio::awaitable<bool> connect();
  // Runs both pumps to their end, enforcing --idle-timeout on the way.
  asio::awaitable<void> forward();
  void pumpEnded(const Pump& pump);
  void finish();

  WorkerContext& ctx_;
  asio::ip::tcp::socket client_;
  asio::ip::tcp::socket target_;
  net::Endpoint client_endpoint_;
  std::optional<net::Endpoint> target_endpoint_;
  discovery::TargetBoard::Snapshot snapshot_;  // keeps target names alive for the log
  std::string_view target_name_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_activity_;
  CloseReason reason_ = CloseReason::None;
  std::string error_;
  int attempts_ = 0;
  bool aborted_ = false;
  asio::steady_timer timer_;  // idle timeout; woken early when both pumps ended
  Pump up_;                   // client → target
  Pump down_;                 // target → client
};

}  // namespace edge::proxy
