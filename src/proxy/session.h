#pragma once
// One client connection: pick a target, connect (with timeout and retries), pump both ways,
// write the access-log events (open, progress, close). Owns both sockets and both directions'
// pumps; lives on one worker thread and runs on callbacks alone: the connect's, then its pumps'. An
// idle connection costs this object and its two sockets: no pipe, no buffer (see proxy/pump.h). It
// deletes itself when both directions have ended.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "discovery/target_board.h"
#include "log/access_log.h"
#include "net/reactor_op.h"
#include "net/socket.h"
#include "proxy/close_reason.h"
#include "proxy/connect_deadlines.h"
#include "proxy/connection_info.h"
#include "proxy/intrusive_list.h"
#include "proxy/pump.h"
#include "proxy/route_context.h"
#include "proxy/worker_context.h"

namespace edge::proxy {

class Session final : PumpOwner, net::ReactorOp::Callbacks, ConnectDeadlines::Waiter {
 public:
  // Starts serving `client`; the session frees itself at the end. `client_endpoint`: the peer, or
  // the address its PROXY header gave; `destination`: the header's destination (nullopt: the
  // client socket's local address), for the header --send-proxy writes.
  static void start(WorkerContext& ctx, std::shared_ptr<RouteContext> route, net::Socket client,
                    net::Endpoint client_endpoint,
                    std::optional<net::Endpoint> destination = std::nullopt);

  // Ends the connection now (shutdown, idle timeout, a reset on the other side).
  // `send_reset`: close with RST so the peer learns the stream did not end cleanly.
  void abort(CloseReason reason, bool send_reset);
  // Called by the worker's sweep (proxy/idle_sweep.h) at least once a second while forwarding:
  // notes whether bytes moved since the last sweep (the pumps' byte counts tell, so forwarding
  // reads no clock); ends the connection if its route has an --idle-timeout and no byte moved
  // either way in the timeout up to `now`; writes a progress event when one is due. The connect
  // phase has its own timeout.
  void sweep(std::chrono::steady_clock::time_point now);

  // The route (and its settings) this connection runs with.
  const RouteContext* route() const { return route_.get(); }
  // Unique within the process (log/connection_id.h); in each of its access-log events.
  uint64_t id() const { return id_; }
  // A copy of what /connections shows; on this session's worker thread.
  ConnectionInfo info(std::chrono::steady_clock::time_point now) const;

  IntrusiveHook<Session> hook;  // in the worker's list of live sessions

 private:
  using Clock = std::chrono::steady_clock;
  enum class ConnectStep : uint8_t { Connected, Waiting, Failed };

  Session(WorkerContext& ctx, std::shared_ptr<RouteContext> route, net::Socket client,
          net::Endpoint client_endpoint);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connect phase: tries targets until one connects, then forward(); else end().
  void connectNext();
  ConnectStep connectTo(const net::Endpoint& endpoint, std::error_code& ec);
  bool openTarget(const net::Endpoint& endpoint, std::error_code& ec);
  void attemptFailed(const std::error_code& ec);
  void attemptFailed(metrics::ConnectFailure failure, std::string error);
  // This connection will not try `endpoint` again.
  void skipTarget(const net::Endpoint& endpoint);
  bool alreadyFailed(const net::Endpoint& endpoint) const;
  // `waited`: the connect went through the event loop (else it completed in connectTo()).
  void connected(bool waited);
  // --send-proxy: writes the header on the just-connected target socket. False (the attempt
  // noted as failed) if the socket did not take all of it at once.
  bool sendProxyHeader();
  // The pending connect (net::ReactorOp::Callbacks) and its deadline.
  Attempt attempt(net::ReactorOp& op) override;
  void complete(net::ReactorOp& op, const std::error_code& ec) override;
  void deadlinePassed() override;

  void forward(bool target_unread, Clock::time_point now);
  // The access-log events (if --access-log wants them).
  void logOpen(Clock::time_point now);
  void logProgress(Clock::time_point now);
  // Fields every event shares.
  log::AccessRecord record(log::AccessEvent event) const;
  void pumpEnded(Pump& pump) override;
  void end();  // writes the access-log line, then frees the session
  std::string_view targetName() const { return picked_ ? std::string_view(picked_->name) : ""; }

  WorkerContext& ctx_;
  std::shared_ptr<RouteContext> route_;  // the settings it started with, to the end
  net::Socket client_;
  net::Socket target_;
  Pump up_;                    // client → target
  Pump down_;                  // target → client
  net::ReactorOp connect_op_;  // waits for a connect that did not finish at once
  std::unique_ptr<std::vector<net::Endpoint>> failed_;  // targets that failed: after a failure
  discovery::TargetBoard::Snapshot snapshot_;           // keeps target names alive for the log
  const balance::Target* picked_ = nullptr;  // the target record tried last (in snapshot_)
  std::string error_;
  std::optional<net::Endpoint> target_endpoint_;
  metrics::TargetCounters* target_counters_ = nullptr;  // the target being tried or connected
  net::Endpoint client_endpoint_;
  int connect_errno_ = 0;  // what the pending connect's last attempt answered
  uint64_t id_;
  Clock::time_point started_;
  Clock::time_point quiet_since_;    // when a sweep last saw bytes move (at first: connected)
  uint64_t bytes_seen_ = 0;          // ... and how many both pumps had moved then
  Clock::time_point next_progress_;  // when the next progress event is due
  // --send-proxy with an accepted PROXY header: the header's destination (else the client
  // socket's local address is asked for when needed). Allocated only then: idle connections stay
  // small.
  std::unique_ptr<const net::Endpoint> proxy_destination_;
  CloseReason reason_ = CloseReason::None;
  uint8_t attempts_ = 0;
  bool aborted_ = false;
  bool timed_out_ = false;  // the waiting connect ran out of time
  bool counted_ = false;    // in the route's ActiveConnections (least-connections)
  bool opened_ = false;     // connected: counted in its target's opened (and closed at the end)
};

}  // namespace edge::proxy
