#include "proxy/acceptor.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace edge::proxy {

Acceptor::Acceptor(asio::io_context& io, asio::ip::tcp::acceptor listener, OnAccept on_accept)
    : io_(io),
      listener_(io),
      reactor_(net::ReactorOp::reactorOf(io)),
      on_accept_(std::move(on_accept)),
      op_(*this),
      pause_(io) {
  const auto protocol = listener.local_endpoint().protocol();
  listener.native_non_blocking(true);  // once: accept4() must never block the worker
  if (auto ec = net::adoptOwnedNonBlocking(listener_, protocol, listener.release())) {
    throw std::system_error(ec, "listener");
  }
}

void Acceptor::start() {
  op_.start(reactor_, listener_, net::ReactorOp::Kind::Read);
}

void Acceptor::close() {
  std::error_code ignored;
  pause_.cancel();
  listener_.close(ignored);  // a pending accept completes with operation_aborted
}

net::ReactorOp::Attempt Acceptor::attempt(net::ReactorOp&) {
  for (;;) {
    socklen_t length = static_cast<socklen_t>(peer_.capacity());
    accepted_fd_ =
        ::accept4(listener_.native_handle(), peer_.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (accepted_fd_ >= 0) {
      peer_.resize(length);
      return Attempt::Done;
    }
    accept_errno_ = errno;
    if (accept_errno_ == EINTR) continue;
    // The client gave up between SYN and accept: not our error, try the next one.
    if (accept_errno_ == ECONNABORTED) continue;
    const bool would_block = accept_errno_ == EAGAIN || accept_errno_ == EWOULDBLOCK;
    return would_block ? Attempt::WouldBlock : Attempt::Done;
  }
}

void Acceptor::complete(net::ReactorOp&, const std::error_code& ec) {
  if (ec || !listener_.is_open()) {  // closed: stop accepting
    // Accepted in the same loop pass as the close (the drain began): the worker may already
    // count as drained, so this client is not served; closing tells it at once, where leaving
    // the descriptor open would keep it waiting until the process exits.
    if (accepted_fd_ >= 0) ::close(std::exchange(accepted_fd_, -1));
    return;
  }
  if (accepted_fd_ < 0) {
    // Out of descriptors or memory: log, pause briefly instead of spinning, keep serving.
    if (consecutive_errors_++ % 100 == 0) {
      spdlog::error("accept failed: {}", std::strerror(accept_errno_));
    }
    pause_.expires_after(std::chrono::milliseconds(50));
    pause_.async_wait([this](std::error_code wait_ec) {
      if (!wait_ec && listener_.is_open()) start();
    });
    return;
  }
  consecutive_errors_ = 0;
  net::Socket socket(io_);
  if (auto adopt_ec =
          net::adoptOwnedNonBlocking(socket, peer_.protocol(), std::exchange(accepted_fd_, -1))) {
    spdlog::error("accept: cannot register the connection: {}", adopt_ec.message());
  } else {
    on_accept_(std::move(socket), peer_);
  }
  start();  // the next connection, if one is queued, is taken at once (speculative attempt)
}

}  // namespace edge::proxy
