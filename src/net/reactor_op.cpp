#include "net/reactor_op.h"

#include <asio/execution/context.hpp>
#include <asio/query.hpp>

namespace edge::net {
namespace {

// asio keeps a socket's descriptor and reactor registration in a protected member. Naming it
// through a derived class is allowed, and the member pointer then applies to any tcp::socket.
struct SocketAccess : asio::ip::tcp::socket {
  static auto& implOf(asio::ip::tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
};

}  // namespace

asio::detail::reactor& ReactorOp::reactorOf(asio::ip::tcp::socket& socket) {
  return asio::use_service<asio::detail::reactor>(
      asio::query(socket.get_executor(), asio::execution::context));
}

void ReactorOp::start(asio::detail::reactor& reactor, asio::ip::tcp::socket& socket, Kind kind) {
  pending_ = true;
  ec_ = std::error_code();
  auto& impl = SocketAccess::implOf(socket);
  // Speculative: the attempt runs now; only if it would block does the op wait on the
  // descriptor's existing edge-triggered registration (no epoll_ctl).
  reactor.start_op(static_cast<int>(kind), impl.socket_, impl.reactor_data_, this,
                   /*is_continuation=*/true, /*allow_speculative=*/true);
}

ReactorOp::status ReactorOp::doPerform(asio::detail::reactor_op* base) {
  auto* op = static_cast<ReactorOp*>(base);
  return op->owner_->attempt(*op) ? done : not_done;
}

void ReactorOp::doComplete(void* owner, asio::detail::operation* base,
                           const std::error_code& /*ec*/, std::size_t /*bytes*/) {
  auto* op = static_cast<ReactorOp*>(base);
  op->pending_ = false;
  if (!owner) return;  // destroyed with its io_context: nobody to tell
  op->owner_->complete(*op, op->ec_);
}

}  // namespace edge::net
