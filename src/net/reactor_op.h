#pragma once
// A readiness operation on asio's own reactor, for syscalls asio has no op for (splice).
//
// asio's async_wait() re-arms the descriptor with epoll_ctl(EPOLL_CTL_MOD) on every call,
// which the data path must not pay per read. Its own read/write ops avoid that: they are
// started "speculatively" (try the syscall first; only on EAGAIN queue on the descriptor,
// which stays registered edge-triggered for its lifetime). ReactorOp takes that same path
// with a caller-supplied attempt function, so a splice() is tried at once and retried by the
// reactor when the socket becomes ready, with no allocation and no epoll_ctl per chunk.
//
// This reaches into asio::detail (pinned: Debian 12's asio 1.22, epoll reactor). The op is a
// member of its owner, never heap-allocated, so the owner must outlive a started op: it may
// be destroyed only after the op completed (closing the socket completes it with
// operation_aborted).

#include <asio/ip/tcp.hpp>
#include <asio/version.hpp>
#include <system_error>
// After the public headers: asio's detail headers depend on them.
#include <asio/detail/reactor.hpp>
#include <asio/detail/reactor_op.hpp>

#include "net/socket.h"

static_assert(ASIO_VERSION >= 102200 && ASIO_VERSION < 102300,
              "net/reactor_op.h relies on asio 1.22 internals; re-check it for this version");

namespace edge::net {

class ReactorOp : public asio::detail::reactor_op {
 public:
  enum class Kind {
    Read = asio::detail::reactor::read_op,
    Write = asio::detail::reactor::write_op
  };

  // What an attempt found.
  enum class Attempt : uint8_t {
    WouldBlock,  // wait for readiness, then attempt again
    Done,        // complete the op
    // Complete the op, and the descriptor has nothing more for this kind of op: the next one
    // started on it skips its first attempt (which could only say EAGAIN) and waits for the
    // next readiness edge.
    DoneDrained,
  };

  // `attempt` runs the syscall (on the reactor's thread). `complete` runs as a handler, with
  // operation_aborted when the socket was closed.
  struct Callbacks {
    using Attempt = ReactorOp::Attempt;
    virtual Attempt attempt(ReactorOp& op) = 0;
    virtual void complete(ReactorOp& op, const std::error_code& ec) = 0;

   protected:
    ~Callbacks() = default;
  };

  explicit ReactorOp(Callbacks& owner)
      : reactor_op(std::error_code(), &ReactorOp::doPerform, &ReactorOp::doComplete),
        owner_(&owner) {}
  ReactorOp(const ReactorOp&) = delete;
  ReactorOp& operator=(const ReactorOp&) = delete;

  // Starts the op on `socket`: attempts once now; if that would block, waits for readiness.
  // Not `speculative`: waits for readiness first (for a connect the caller just tried).
  void start(asio::detail::reactor& reactor, Socket& socket, Kind kind, bool speculative = true);
  // Takes the op off `socket`'s queue for `kind` if it waits there (asio's per-op cancellation:
  // the other ops on the descriptor stay). Its completion then comes later, through the event
  // loop, with operation_aborted; until then the op must not be started again. A no-op if the
  // op is not queued there (e.g. it completed already and its completion is on its way).
  void cancel(asio::detail::reactor& reactor, Socket& socket, Kind kind);

  // The reactor serving `socket`'s io_context (look it up once, not per op).
  static asio::detail::reactor& reactorOf(asio::io_context& io);

 private:
  static status doPerform(asio::detail::reactor_op* base);
  static void doComplete(void* owner, asio::detail::operation* base, const std::error_code& ec,
                         std::size_t bytes);

  Callbacks* owner_;
};

// Hands `fd`, a non-blocking descriptor nobody else holds (accept4/socket with SOCK_NONBLOCK),
// to `socket`, telling asio both facts: it then neither sets O_NONBLOCK again (an ioctl) nor
// unregisters the descriptor from epoll before closing it (an epoll_ctl it needs only for
// descriptors that may be duplicated elsewhere). On failure `fd` is closed.
std::error_code adoptOwnedNonBlocking(Socket& socket, const asio::ip::tcp& protocol, int fd);

}  // namespace edge::net
