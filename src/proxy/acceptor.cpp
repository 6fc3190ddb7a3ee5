#include "proxy/acceptor.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace edge::proxy {

namespace {

int openReserve() {
  return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool outOfDescriptors(int e) {
  return e == EMFILE || e == ENFILE;
}

}  // namespace

Acceptor::Acceptor(asio::io_context& io, asio::ip::tcp::acceptor listener, OnAccept on_accept,
                   OnAccept on_refuse)
    : io_(io),
      listener_(io),
      reactor_(net::ReactorOp::reactorOf(io)),
      on_accept_(std::move(on_accept)),
      on_refuse_(std::move(on_refuse)),
      reserve_fd_(openReserve()),
      op_(*this),
      pause_(io) {
  const auto protocol = listener.local_endpoint().protocol();
  listener.native_non_blocking(true);  // once: accept4() must never block the worker
  if (auto ec = net::adoptOwnedNonBlocking(listener_, protocol, listener.release())) {
    throw std::system_error(ec, "listener");
  }
}

Acceptor::~Acceptor() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void Acceptor::start() {
  op_.start(reactor_, listener_, net::ReactorOp::Kind::Read);
}

void Acceptor::close() {
  std::error_code ignored;
  pause_.cancel();
  listener_.close(ignored);  // a pending accept completes with operation_aborted
  if (reserve_fd_ >= 0) ::close(std::exchange(reserve_fd_, -1));  // no listener, no refusals
}

void Acceptor::retire() {
  while (listener_.is_open()) {
    socklen_t length = static_cast<socklen_t>(peer_.capacity());
    const int fd =
        ::accept4(listener_.native_handle(), peer_.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;  // the queue is empty (or descriptors ran out: nothing more can be served)
    }
    peer_.resize(length);
    hand(on_accept_, fd);
  }
  close();
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
  if (accepted_fd_ < 0 && outOfDescriptors(accept_errno_) && refuseWithReserve()) {
    consecutive_errors_ = 0;
    return start();
  }
  if (accepted_fd_ < 0) {
    // Out of memory (or of descriptors with no reserve): log, pause briefly instead of
    // spinning, keep serving.
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
  refusing_ = false;
  hand(on_accept_, std::exchange(accepted_fd_, -1));
  start();  // the next connection, if one is queued, is taken at once (speculative attempt)
}

void Acceptor::hand(const OnAccept& to, int fd) {
  net::Socket socket(io_);
  if (auto ec = net::adoptOwnedNonBlocking(socket, peer_.protocol(), fd)) {
    spdlog::error("accept: cannot register the connection: {}", ec.message());
    return;
  }
  to(std::move(socket), peer_);
}

bool Acceptor::refuseWithReserve() {
  if (reserve_fd_ < 0) return false;
  ::close(std::exchange(reserve_fd_, -1));
  // One client per freed descriptor; the listener stays readable if more wait, so start()
  // comes back here for each of them.
  socklen_t length = static_cast<socklen_t>(peer_.capacity());
  const int fd =
      ::accept4(listener_.native_handle(), peer_.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    peer_.resize(length);
    hand(on_refuse_, fd);  // closes it
  }
  reserve_fd_ = openReserve();
  if (!refusing_) spdlog::warn("out of descriptors: closing new clients at once (close=limit)");
  refusing_ = true;
  return fd >= 0 && reserve_fd_ >= 0;
}

}  // namespace edge::proxy
