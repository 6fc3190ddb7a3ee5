#pragma once
// One client connection: pick a target, connect (with timeout and retries), pump both ways,
// write the access-log line. Owns both sockets and both directions' pumps; lives on one worker
// thread.
//
// The connect phase is a coroutine; once connected the session runs on its pumps' callbacks
// alone, so an idle connection costs this object and its two sockets: no coroutine frame, no
// pipe, no buffer (see proxy/pump.h). It deletes itself when both directions have ended.

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "discovery/target_board.h"
#include "net/socket.h"
#include "proxy/close_reason.h"
#include "proxy/pump.h"
#include "proxy/session_list.h"
#include "proxy/worker_context.h"

namespace edge::proxy {

class Session final : PumpOwner {
 public:
  // Starts serving `client`; the session frees itself at the end.
  static void start(WorkerContext& ctx, net::Socket client, net::Endpoint client_endpoint);

  // Ends the connection now (shutdown, idle timeout, a reset on the other side).
  // `send_reset`: close with RST so the peer learns the stream did not end cleanly.
  void abort(CloseReason reason, bool send_reset);

  IntrusiveList<Session>::Hook hook;

 private:
  using Clock = std::chrono::steady_clock;
  using Timer =
      asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, asio::io_context::executor_type>;

  Session(WorkerContext& ctx, net::Socket client, net::Endpoint client_endpoint);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> run();
  asio::awaitable<bool> connect();
  bool openTarget(const net::Endpoint& endpoint, std::error_code& ec);
  void forward();
  void pumpEnded(Pump& pump) override;
  void armIdleTimer();
  void end();  // writes the access-log line, then frees the session

  WorkerContext& ctx_;
  net::Socket client_;
  net::Socket target_;
  Pump up_;                                    // client → target
  Pump down_;                                  // target → client
  std::unique_ptr<Timer> idle_timer_;          // only with --idle-timeout
  discovery::TargetBoard::Snapshot snapshot_;  // keeps target names alive for the log
  std::string_view target_name_;
  std::string error_;
  std::optional<net::Endpoint> target_endpoint_;
  net::Endpoint client_endpoint_;
  Clock::time_point started_;
  Clock::time_point last_activity_;
  CloseReason reason_ = CloseReason::None;
  uint8_t attempts_ = 0;
  bool aborted_ = false;
  bool idle_wait_pending_ = false;
  bool connecting_ = false;  // a connect attempt is in progress
  bool timed_out_ = false;   // ... and ran out of time
  bool ended_ = false;
};

}  // namespace edge::proxy
