#pragma once
// Accepts connections on one listening socket for one worker, in one pass per connection:
// accept4() hands out a non-blocking, close-on-exec socket (no ioctl afterwards) that asio
// adopts as exclusively owned (no epoll_ctl to unregister it at close). Waits for the next
// connection on the listener's standing edge-triggered registration (net/reactor_op.h).
// Out of descriptors or memory, it logs and pauses briefly instead of spinning.

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

  // Takes over `listener` (opened elsewhere) onto `io`.
  Acceptor(asio::io_context& io, asio::ip::tcp::acceptor listener, OnAccept on_accept);
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void start();
  // Stops accepting; connections already accepted are not affected.
  void close();

 private:
  Attempt attempt(net::ReactorOp& op) override;
  void complete(net::ReactorOp& op, const std::error_code& ec) override;

  asio::io_context& io_;
  net::Socket listener_;  // a listening socket; only its descriptor and registration are used
  asio::detail::reactor& reactor_;
  OnAccept on_accept_;
  net::ReactorOp op_;
  asio::steady_timer pause_;
  int accepted_fd_ = -1;
  int accept_errno_ = 0;
  net::Endpoint peer_;
  unsigned consecutive_errors_ = 0;
};

}  // namespace edge::proxy
