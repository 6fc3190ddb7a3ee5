#pragma once
// Reads the PROXY header a new connection must start with (--accept-proxy), before any target
// is contacted, and takes exactly its bytes off the socket: whatever the client sent after it
// stays queued in the kernel for the session's splice path.
//
// Peeks (MSG_PEEK) at what has arrived each time the socket becomes readable, on the socket's
// standing edge-triggered registration (net/reactor_op.h): a header cut in pieces waits for
// the next piece, never spins. Ends once: the header (consumed), or why the connection must be
// closed (malformed, the client closed or reset first, --proxy-header-timeout passed, or the
// worker closed it). The deadline shares the route's FIFO of equal timeouts
// (proxy/connect_deadlines.h): no timer per connection.
//
// Owned by its worker, which keeps it in a list until `on_done` (then deletes it there) and
// closes the pending ones when it drains or drops the route. Not a Session: it holds no target.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/endpoint.h"
#include "net/reactor_op.h"
#include "net/socket.h"
#include "proxy/close_reason.h"
#include "proxy/connect_deadlines.h"
#include "proxy/intrusive_list.h"
#include "proxy/route_context.h"
#include "proxy_protocol/header.h"

namespace edge::proxy {

class ProxyHeaderReader final : net::ReactorOp::Callbacks, ConnectDeadlines::Waiter {
 public:
  // How it ended; called once, as a handler. The callee takes the socket and deletes the reader.
  using OnDone = std::function<void(ProxyHeaderReader&)>;

  // Starts reading at once (bytes sent with the connection are usually there already).
  ProxyHeaderReader(asio::detail::reactor& reactor, std::shared_ptr<RouteContext> route,
                    net::Socket socket, const net::Endpoint& peer, const OnDone& on_done);
  ~ProxyHeaderReader();
  ProxyHeaderReader(const ProxyHeaderReader&) = delete;
  ProxyHeaderReader& operator=(const ProxyHeaderReader&) = delete;

  // Ends the read early: on_done then reports `reason` and `why` (once the pending op is back).
  void stop(CloseReason reason, std::string why);

  // The outcome, for on_done: the header (consumed from the socket), or why to close.
  const std::optional<proxy_protocol::Header>& header() const { return header_; }
  CloseReason reason() const { return reason_; }
  const std::string& error() const { return error_; }

  net::Socket& socket() { return socket_; }
  const net::Endpoint& peer() const { return peer_; }
  const std::shared_ptr<RouteContext>& route() const { return route_; }

  IntrusiveHook<ProxyHeaderReader> hook;  // the worker's list of pending readers

 private:
  Attempt attempt(net::ReactorOp& op) override;
  void complete(net::ReactorOp& op, const std::error_code& ec) override;
  void deadlinePassed() override;
  // One look at the socket: Done once the outcome is known.
  Attempt readOnce();
  // The connection failed with `error` (an errno).
  void failed(int error);
  void fail(std::string why) {
    reason_ = CloseReason::BadProxyHeader;
    error_ = std::move(why);
  }

  asio::detail::reactor& reactor_;
  std::shared_ptr<RouteContext> route_;
  net::Socket socket_;
  net::Endpoint peer_;
  const OnDone& on_done_;
  net::ReactorOp op_;
  std::optional<proxy_protocol::Header> header_;
  CloseReason reason_ = CloseReason::None;
  std::string error_;
  CloseReason stop_reason_ = CloseReason::None;  // stop() was called
  std::string stop_why_;
  size_t received_ = 0;  // bytes of the header seen so far, for the log line
  bool timed_out_ = false;
};

}  // namespace edge::proxy
