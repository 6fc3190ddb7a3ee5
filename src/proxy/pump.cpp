#include "proxy/pump.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/socket_options.h"
#include "net/system_error.h"

namespace edge::proxy {
namespace {

Side other(Side s) {
  return s == Side::Client ? Side::Target : Side::Client;
}

bool wouldBlock(int e) {
  return e == EAGAIN || e == EWOULDBLOCK;
}

// What splice() answers for a descriptor it cannot serve; the copy path can.
bool spliceRefused(int e) {
  return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

// Reads like read(). `queued` gets what the kernel says (TCP_INQ, set on our sockets) is left
// behind the bytes read: 0 nothing, 1 a FIN or one byte, more: bytes; -1 without the hint.
ssize_t readCopy(int fd, char* buffer, size_t size, int& queued) {
  queued = -1;
  iovec iov{buffer, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(fd, &msg, 0);
  if (n < 0 && errno == ENOTSOCK) return ::read(fd, buffer, size);  // any other descriptor
  if (n <= 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_TCP && c->cmsg_type == TCP_CM_INQ) {
      std::memcpy(&queued, CMSG_DATA(c), sizeof queued);
    }
  }
  return n;
}

}  // namespace

Pump::Pump(const PumpPools& pools, net::Socket& from, net::Socket& to, Side from_side,
           PumpOwner& owner)
    : pools_(pools),
      from_(from),
      to_(to),
      owner_(owner),
      op_(*this),
      watch_(*this),
      from_side_(from_side),
      copy_mode_(!pools.pipes.enabled()) {}

Pump::~Pump() {
  releaseResources();
}

void Pump::start(bool unread) {
  // The attempts below call the kernel directly and must never block.
  for (auto* socket : {&from_, &to_}) {
    std::error_code ignored;
    if (!socket->native_non_blocking()) socket->native_non_blocking(true, ignored);
  }
  stage_ = Stage::Reading;
  skip_attempt_ = unread;  // only the attempt start() itself makes, if asio makes one
  op_.start(pools_.reactor, from_, net::ReactorOp::Kind::Read);
  skip_attempt_ = false;
}

net::ReactorOp::Attempt Pump::attempt(net::ReactorOp& op) {
  if (&op == &watch_) return attemptWatch();
  if (stage_ != Stage::Writing) return attemptRead();
  return attemptWrite() ? Attempt::Done : Attempt::WouldBlock;
}

net::ReactorOp::Attempt Pump::attemptRead() {
  if (std::exchange(skip_attempt_, false)) return Attempt::WouldBlock;  // wait for epoll
  if (!takeResources()) return failRead(std::make_error_code(std::errc::not_enough_memory));
  for (;;) {
    int queued = -1;  // only a copied read learns it (splice gives no hint)
    const bool spliced = pipe_.valid();
    const ssize_t n = pipe_.valid()
                          ? ::splice(from_.native_handle(), nullptr, pipe_.write.get(), nullptr,
                                     pools_.pipes.pipeSize(), SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                          : readCopy(from_.native_handle(), buffer_, BufferPool::kSize, queued);
    if (n > 0) {
      pending_ = static_cast<uint32_t>(n);
      offset_ = 0;
      if (queued > 0) readBehind(queued);
      drained_ = queued == 0;
      // Full reads mean a bulk transfer: splice the next ones; small ones go back to copying.
      bulk_ = !copy_mode_ && pending_ >= std::max<uint32_t>(pools_.splice_from, 1);
      copy_next_ = false;
      return drained_ ? Attempt::DoneDrained : Attempt::Done;
    }
    drained_ = false;
    copy_next_ = false;
    const int e = n == 0 ? 0 : errno;
    // splice() stops in front of an urgent byte: EAGAIN there, or 0 once the FIN is in, with
    // bytes still queued. A plain read moves past the mark; it also has the last word on EOF.
    if (spliced && (n == 0 || (wouldBlock(e) && net::atUrgentMark(from_.native_handle())))) {
      copy_next_ = true;
      releaseResources();  // the pipe is empty
      if (takeResources()) continue;
      return failRead(std::make_error_code(std::errc::not_enough_memory));
    }
    if (n == 0) {
      eof_ = true;
      releaseResources();
      return Attempt::Done;
    }
    if (e == EINTR) continue;
    if (wouldBlock(e)) {  // dry: an idle direction holds no pipe and no buffer
      releaseResources();
      return Attempt::WouldBlock;
    }
    if (pipe_.valid() && spliceRefused(e)) {  // nothing was read: copy from now on
      copy_mode_ = true;
      releaseResources();
      if (takeResources()) continue;
      return failRead(std::make_error_code(std::errc::not_enough_memory));
    }
    releaseResources();
    return failRead(net::systemError(e));
  }
}

// More is queued behind the bytes just copied, usually the peer's FIN right after its last
// message: read it now, into the buffer's free space (the bound on bytes in flight holds), so
// the write below can carry the FIN in the same segment as those bytes.
void Pump::readBehind(int& queued) {
  while (queued > 0 && pending_ < BufferPool::kSize) {
    const ssize_t n =
        readCopy(from_.native_handle(), buffer_ + pending_, BufferPool::kSize - pending_, queued);
    if (n > 0) {
      pending_ += static_cast<uint32_t>(n);
      continue;
    }
    const int e = n == 0 ? 0 : errno;
    if (e == EINTR) continue;
    queued = -1;  // unknown from here: the next read asks the kernel
    if (n == 0) {
      eof_ = true;  // half-close once the bytes are written
    } else if (!wouldBlock(e)) {
      failRead(net::systemError(e));  // reported once the bytes are written
    }
    return;
  }
}

// The watch: the source has nothing to say unless it failed (reset, timeout). It runs on every
// readiness edge of the source while queued, which is only while nothing else reads it.
net::ReactorOp::Attempt Pump::attemptWatch() {
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(from_.native_handle(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
    error = errno;
  }
  if (error == 0) return Attempt::WouldBlock;
  watch_errno_ = error;
  return Attempt::Done;
}

bool Pump::needsWatch() const {
  return stage_ == Stage::Writing || (stage_ == Stage::Ended && watch_after_end_);
}

void Pump::startWatch() {
  // A watch cancelled a moment ago completes first; its completion starts the next one.
  if (watch_busy_ || !from_.is_open()) return;
  watch_busy_ = watching_ = true;
  watch_.start(pools_.reactor, from_, net::ReactorOp::Kind::Read);
}

void Pump::stopWatch() {
  if (!std::exchange(watching_, false)) return;
  watch_.cancel(pools_.reactor, from_, net::ReactorOp::Kind::Read);
}

void Pump::watchCompleted(const std::error_code& ec) {
  watch_busy_ = watching_ = false;
  if (ec == asio::error::operation_aborted) {  // taken off (or the socket closed)
    if (needsWatch()) startWatch();
    return;
  }
  const std::error_code error = ec ? ec : net::systemError(watch_errno_);
  if (stage_ == Stage::Ended) {  // after our EOF: the owner learns of the reset now
    if (!std::exchange(watch_after_end_, false)) return;
    // The other direction ended meanwhile (its completion ran before this one): the owner has
    // been told both ends and may be gone; a second word would end the connection twice.
    if (!opposite_ || !opposite_->running()) return;
    end_.error = error;
    end_.reason = classify(from_side_, error);
    return owner_.pumpEnded(*this);  // last: it may destroy this pump
  }
  // Bytes not yet written are lost with the peer that reset: stop waiting for the other peer.
  end_.error = error;
  read_failed_ = true;
  source_failed_ = true;
  if (stage_ == Stage::Writing) {
    op_.cancel(pools_.reactor, to_, net::ReactorOp::Kind::Write);
  } else {
    op_.cancel(pools_.reactor, from_, net::ReactorOp::Kind::Read);
  }
}

net::ReactorOp::Attempt Pump::failRead(std::error_code error) {
  end_.error = error;
  read_failed_ = true;
  return Attempt::Done;
}

bool Pump::attemptWrite() {
  while (pending_ > 0) {
    const ssize_t n = pipe_.valid()
                          ? ::splice(pipe_.read.get(), nullptr, to_.native_handle(), nullptr,
                                     pending_, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)
                          : ::send(to_.native_handle(), buffer_ + offset_, pending_,
                                   // a FIN follows at once: let it ride in the same segment
                                   MSG_NOSIGNAL | (eof_ ? MSG_MORE : 0));
    if (n > 0) {
      pending_ -= static_cast<uint32_t>(n);
      offset_ += static_cast<uint32_t>(n);
      end_.bytes += static_cast<uint64_t>(n);
      continue;
    }
    const int e = n == 0 ? EPIPE : errno;
    if (e == EINTR) continue;
    if (wouldBlock(e)) break;
    if (!read_failed_) end_.error = net::systemError(e);  // else the read's error tells more
    write_failed_ = true;
    return true;
  }
  return pending_ == 0;
}

void Pump::complete(net::ReactorOp& op, const std::error_code& ec) {
  if (&op == &watch_) return watchCompleted(ec);
  if (ec == asio::error::operation_aborted) {
    // Cancelled by the watch (the source failed), else stopped from outside.
    return finish(source_failed_ ? classify(from_side_, end_.error) : CloseReason::None);
  }
  if (ec) {
    end_.error = ec;
    return finish(classify(from_side_, ec));
  }
  if (stage_ == Stage::Reading && pending_ > 0) {
    // Most writes go through at once: try now instead of through one more queued op.
    stage_ = Stage::Writing;
    if (!attemptWrite()) {
      startWatch();  // nothing reads the source while this waits for the other peer
      return op_.start(pools_.reactor, to_, net::ReactorOp::Kind::Write);
    }
  }
  // Everything read so far is written (or the writing failed). What the source said behind
  // those bytes comes now.
  if (read_failed_) return finish(classify(from_side_, end_.error));
  // The write side failing means the other peer is gone (timed out, else reset: EPIPE too).
  if (write_failed_) {
    const bool timed_out = end_.error == std::errc::timed_out;
    return finish(
        classify(other(from_side_), timed_out ? end_.error : asio::error::connection_reset));
  }
  if (eof_) {
    if (!opposite_ || opposite_->running()) {
      std::error_code ignored;  // the other side may be gone already; its pump will say so
      to_.shutdown(net::Socket::shutdown_send, ignored);
    }
    // The connection lives on in the other direction: a reset of this source must still end it.
    watch_after_end_ = opposite_ && opposite_->running();
    stage_ = Stage::Ended;
    if (watch_after_end_) startWatch();
    return finish(classify(from_side_, asio::error::eof));
  }
  // Emptied the socket: the read below waits for the next edge, holding nothing meanwhile.
  if (drained_) releaseResources();
  stopWatch();  // the read below takes the source's read queue back
  stage_ = Stage::Reading;
  op_.start(pools_.reactor, from_, net::ReactorOp::Kind::Read);
}

bool Pump::takeResources() {
  const bool want_pipe = !copy_mode_ && !copy_next_ && (bulk_ || pools_.splice_from == 0);
  if (want_pipe ? pipe_.valid() : buffer_ != nullptr) return true;
  releaseResources();  // the other kind, empty: this runs between chunks only
  if (want_pipe) {
    pipe_ = pools_.pipes.acquire();
    if (pipe_.valid()) return true;  // else out of descriptors: copy this chunk instead
  }
  buffer_ = pools_.buffers.acquire();
  return buffer_ != nullptr;
}

void Pump::releaseResources() {
  if (pipe_.valid()) {
    if (pending_ == 0) {
      pools_.pipes.release(std::move(pipe_));
    } else {
      pools_.pipes.discard(std::move(pipe_));  // bytes left in it: close, never reuse
    }
  }
  if (buffer_) pools_.buffers.release(std::exchange(buffer_, nullptr));
}

void Pump::finish(CloseReason reason) {
  releaseResources();
  if (!watch_after_end_) stopWatch();
  stage_ = Stage::Ended;
  end_.reason = reason;
  owner_.pumpEnded(*this);  // last: it may destroy this pump
}

}  // namespace edge::proxy
