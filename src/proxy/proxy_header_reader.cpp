#include "proxy/proxy_header_reader.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "config/duration.h"
#include "net/system_error.h"

namespace edge::proxy {
namespace {

// Whether the client has ended its side: 0 if not, else the errno of the failure (ECONNRESET
// for a reset; its pending data still reads first, so the reads alone would not tell) or -1 for a
// FIN. Then the bytes queued now are all the header will ever get. epoll's registration does not
// ask for EPOLLRDHUP, so a FIN that came with the last piece of a truncated header raises no
// further edge: asked here.
int peerEnded(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) != 1) return 0;
  if (p.revents & POLLERR) {
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    return error != 0 ? error : ECONNRESET;
  }
  return (p.revents & (POLLRDHUP | POLLHUP)) != 0 ? -1 : 0;
}

}  // namespace

ProxyHeaderReader::ProxyHeaderReader(asio::detail::reactor& reactor,
                                     std::shared_ptr<RouteContext> route, net::Socket socket,
                                     const net::Endpoint& peer, const OnDone& on_done)
    : reactor_(reactor),
      route_(std::move(route)),
      socket_(std::move(socket)),
      peer_(peer),
      on_done_(on_done),
      op_(*this) {
  route_->header_deadlines.add(*this);
  // Speculative: a load balancer sends the header with (or right after) the handshake, so it
  // is usually queued already; otherwise the op waits on the socket's registration.
  op_.start(reactor_, socket_, net::ReactorOp::Kind::Read);
}

ProxyHeaderReader::~ProxyHeaderReader() {
  route_->header_deadlines.remove(*this);
}

void ProxyHeaderReader::stop(CloseReason reason, std::string why) {
  if (stop_reason_ != CloseReason::None) return;
  stop_reason_ = reason;
  stop_why_ = std::move(why);
  route_->header_deadlines.remove(*this);
  // A drained worker's event loop must have nothing left to wait for.
  if (route_->header_deadlines.size() == 0) route_->header_deadlines.stop();
  std::error_code ignored;
  socket_.cancel(ignored);  // a waiting op completes with operation_aborted
}

void ProxyHeaderReader::deadlinePassed() {  // only while queued: while op_ waits
  timed_out_ = true;
  std::error_code ignored;
  socket_.cancel(ignored);
}

net::ReactorOp::Attempt ProxyHeaderReader::attempt(net::ReactorOp&) {
  return readOnce();
}

net::ReactorOp::Attempt ProxyHeaderReader::readOnce() {
  const int fd = socket_.native_handle();
  uint8_t buffer[proxy_protocol::kMaxHeaderBytes];
  // A second look only after the client shut its side: nothing can come after that.
  for (bool last_look = false;; last_look = true) {
    ssize_t n;
    do {
      n = ::recv(fd, buffer, sizeof buffer, MSG_PEEK);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return Attempt::WouldBlock;
      failed(e);
      return Attempt::Done;
    }
    if (n == 0) {
      fail("client closed before its PROXY header ended (" + std::to_string(received_) +
           " bytes received)");
      return Attempt::Done;
    }
    const auto result =
        proxy_protocol::parse(std::span<const uint8_t>(buffer, static_cast<size_t>(n)));
    switch (result.status) {
      case proxy_protocol::Status::Invalid:
        fail(result.error);
        return Attempt::Done;
      case proxy_protocol::Status::Complete: {
        // Exactly the header's bytes: what follows stays queued for the session.
        ssize_t taken;
        do {
          taken = ::recv(fd, buffer, result.length, 0);
        } while (taken < 0 && errno == EINTR);
        if (taken != static_cast<ssize_t>(result.length)) {  // peeked bytes are there: never
          fail("reading the PROXY header: got " + std::to_string(taken) + " of " +
               std::to_string(result.length) + " peeked bytes");
          return Attempt::Done;
        }
        header_ = result.header;
        // Done, not DoneDrained: the session's first read must try the socket (bytes sent
        // after the header may be queued already, with no edge to come for them).
        return Attempt::Done;
      }
      case proxy_protocol::Status::Incomplete:
        received_ = static_cast<size_t>(n);
        if (last_look) {
          fail("client closed before its PROXY header ended (" + std::to_string(received_) +
               " bytes received)");
          return Attempt::Done;
        }
        if (const int ended = peerEnded(fd); ended > 0) {
          failed(ended);
          return Attempt::Done;
        } else if (ended == 0) {
          return Attempt::WouldBlock;  // the next piece raises an edge
        }
        break;  // a FIN: one last look, at what came before it
    }
  }
}

void ProxyHeaderReader::failed(int error) {
  fail(error == ECONNRESET ? "client reset before its PROXY header ended (" +
                                 std::to_string(received_) + " bytes received)"
                           : "reading the PROXY header: " + net::systemError(error).message());
}

void ProxyHeaderReader::complete(net::ReactorOp&, const std::error_code& ec) {
  route_->header_deadlines.remove(*this);
  if (stop_reason_ != CloseReason::None) {  // the worker closes it, whatever was read
    header_.reset();
    reason_ = stop_reason_;
    error_ = std::move(stop_why_);
  } else if (ec) {  // cancelled: the deadline passed
    header_.reset();
    reason_ = CloseReason::BadProxyHeader;
    error_ = timed_out_ ? "PROXY header not complete after " +
                              config::formatDuration(route_->settings.proxy_header_timeout) + " (" +
                              std::to_string(received_) + " bytes received)"
                        : "reading the PROXY header: " + ec.message();
  }
  on_done_(*this);  // deletes this
}

}  // namespace edge::proxy
