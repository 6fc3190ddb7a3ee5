#include "net/reactor_op.h"

#include <unistd.h>

namespace edge::net {
namespace {

// asio keeps a socket's descriptor and reactor registration in a protected member. Naming it
// through a derived class is allowed, and the member pointer then applies to any tcp::socket.
struct SocketAccess : Socket {
  static auto& implOf(Socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
};

}  // namespace

std::error_code adoptOwnedNonBlocking(Socket& socket, const asio::ip::tcp& protocol, int fd) {
  std::error_code ec;
  socket.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return ec;
  }
  auto& impl = SocketAccess::implOf(socket);
  impl.state_ |= asio::detail::socket_ops::internal_non_blocking;
  impl.state_ &=
      static_cast<asio::detail::socket_ops::state_type>(~asio::detail::socket_ops::possible_dup);
  return ec;
}

asio::detail::reactor& ReactorOp::reactorOf(asio::io_context& io) {
  return asio::use_service<asio::detail::reactor>(io);
}

void ReactorOp::start(asio::detail::reactor& reactor, Socket& socket, Kind kind, bool speculative) {
  ec_ = std::error_code();
  cancellation_key_ = this;
  auto& impl = SocketAccess::implOf(socket);
  // Speculative: the attempt runs now; only if it would block does the op wait on the
  // descriptor's existing edge-triggered registration (no epoll_ctl for reads; a write adds
  // EPOLLOUT to it once). Not speculative, asio re-arms the descriptor (one epoll_ctl).
  reactor.start_op(static_cast<int>(kind), impl.socket_, impl.reactor_data_, this,
                   /*is_continuation=*/true, speculative);
}

void ReactorOp::cancel(asio::detail::reactor& reactor, Socket& socket, Kind kind) {
  auto& impl = SocketAccess::implOf(socket);
  reactor.cancel_ops_by_key(impl.socket_, impl.reactor_data_, static_cast<int>(kind), this);
}

ReactorOp::status ReactorOp::doPerform(asio::detail::reactor_op* base) {
  auto* op = static_cast<ReactorOp*>(base);
  switch (op->owner_->attempt(*op)) {
    case Attempt::WouldBlock:
      return not_done;
    case Attempt::Done:
      return done;
    case Attempt::DoneDrained:
      // asio then clears the descriptor's "try speculatively" flag for this op type until
      // epoll reports it ready again.
      return done_and_exhausted;
  }
  return done;
}

void ReactorOp::doComplete(void* owner, asio::detail::operation* base,
                           const std::error_code& /*ec*/, std::size_t /*bytes*/) {
  auto* op = static_cast<ReactorOp*>(base);
  if (!owner) return;                  // destroyed with its io_context: nobody to tell
  const std::error_code ec = op->ec_;  // the owner may free the op inside complete()
  op->owner_->complete(*op, ec);
}

}  // namespace edge::net
