#pragma once
// Accepts connections on one listening socket for one worker, in one pass per connection:
// accept4() hands out a non-blocking, close-on-exec socket (no ioctl afterwards) that asio
// adopts as exclusively owned (no epoll_ctl to unregister it at close). Waits for the next
// connection on the listener's standing edge-triggered registration (net/reactor_op.h).
// Out of descriptors, it still takes the next client off the queue, with a descriptor kept in
// reserve for this, and hands it to `on_refuse` (which closes it): a client must never hang in
// the queue. Out of memory, it logs and pauses briefly instead of spinning.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <functional>

#include "net/endpoint.h"
#include "net/reactor_op.h"
#include "net/socket.h"

namespace edge::proxy {

class Acceptor final : net::ReactorOp::Callbacks {
 public:
  using OnAccept = std::function<void(net::Socket socket, const net::Endpoint& peer)>;

  // Takes over `listener` (opened elsewhere) onto `io`. `on_refuse`: a client accepted with
  // the reserve descriptor, to be closed at once.
  Acceptor(asio::io_context& io, asio::ip::tcp::acceptor listener, OnAccept on_accept,
           OnAccept on_refuse);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void start();
  // Stops accepting; connections already accepted are not affected.
  void close();
  // Hands every connection already in the queue to on_accept, then close(): a listener that is
  // retired (route removed, listen address changed) refuses and resets nobody who got through.
  void retire();

 private:
  Attempt attempt(net::ReactorOp& op) override;
  void complete(net::ReactorOp& op, const std::error_code& ec) override;
  // Out of descriptors: frees the reserve one, accepts a client with it, hands it to
  // on_refuse_, takes the reserve back. False if that failed too.
  bool refuseWithReserve();
  void hand(const OnAccept& to, int fd);

  asio::io_context& io_;
  net::Socket listener_;  // a listening socket; only its descriptor and registration are used
  asio::detail::reactor& reactor_;
  OnAccept on_accept_;
  OnAccept on_refuse_;
  int reserve_fd_ = -1;  // /dev/null, held so that a full descriptor table can still refuse
  net::ReactorOp op_;
  asio::steady_timer pause_;
  int accepted_fd_ = -1;
  int accept_errno_ = 0;
  net::Endpoint peer_;
  unsigned consecutive_errors_ = 0;
  bool refusing_ = false;  // out of descriptors, said so; until a client is accepted again
};

}  // namespace edge::proxy
