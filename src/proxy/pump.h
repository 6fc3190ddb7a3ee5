#pragma once
// Moves the bytes of one direction (from → to) until EOF or an error.
//
// Bulk bytes go socket → pipe → socket with splice(), never through user space. Small
// messages (requests, replies) are cheaper copied: a direction starts copying through a 16 KiB
// buffer and switches to splice once a read fills the buffer, back when reads get small again.
// Where the kernel refuses splice (or --pipe-size off, or no pipe is to be had) it copies.
// Either resource comes from the worker's pools when bytes arrive and goes back, empty, when
// the source runs dry, so an idle direction holds nothing. At most one pipe (or buffer) of
// bytes is in flight: the next read starts only after everything read was written (the
// back-pressure).
//
// Every syscall is tried at once and waits for readiness only on EAGAIN, on the socket's
// standing edge-triggered registration (net/reactor_op.h): no allocation, no epoll_ctl per
// chunk. A copied read also learns (TCP_INQ) whether it emptied the socket; then the next read
// waits for the next edge without first asking the kernel for an EAGAIN; when more is queued
// (typically the FIN right behind a last reply) it reads that too, and the FIN leaves in the
// same segment as the bytes (MSG_MORE, then shutdown). On EOF it half-closes the other side,
// so the opposite direction keeps flowing.
//
// TCP urgent data: both sockets have SO_OOBINLINE (the listener's, inherited, and the target's,
// set by the session when it opens it), so the urgent byte is forwarded as an ordinary byte at its
// place in the stream (without the urgent flag). splice() stops in front of an urgent byte and
// answers EAGAIN, or 0 once the FIN is in, with bytes still queued: the pump then reads past the
// mark with a plain read, and never takes a 0 from splice() for EOF without a plain read agreeing.
//
// Resets: while a direction waits to write (the other peer does not read) or has ended with an
// EOF (the connection lives on in the other direction), nothing reads its source, so a reset
// of that peer would go unnoticed as long as the other peer stays silent. The pump then
// watches its source for an error with a second op on the source's read queue, which no one
// else uses at that time: a reset is noticed in every state and passed on by the owner.
#include <cstdint>
#include <system_error>

#include "net/reactor_op.h"
#include "net/socket.h"
#include "proxy/close_reason.h"
#include "proxy/pipe_pool.h"

namespace edge::proxy {

struct PumpEnd {
  uint64_t bytes = 0;
  CloseReason reason = CloseReason::None;  // None: stopped from outside (abort/cancel)
  std::error_code error;                   // the error behind a reset, for the log
};

// What the pumps of one worker share.
struct PumpPools {
  asio::detail::reactor& reactor;
  PipePool& pipes;
  BufferPool& buffers;
  // A read of at least this many bytes switches a direction to splice (0: from the start).
  uint32_t splice_from = BufferPool::kSize;
};

class Pump;

// Told when a direction ended (EOF, error, or its socket was closed); told once more if its
// source resets after that EOF, while the other direction still runs (end().reason then says
// so). It may destroy the pump from inside the call.
struct PumpOwner {
  virtual void pumpEnded(Pump& pump) = 0;

 protected:
  ~PumpOwner() = default;
};

class Pump final : net::ReactorOp::Callbacks {
 public:
  // Kept small: a connection holds two of these for its whole life.
  Pump(const PumpPools& pools, net::Socket& from, net::Socket& to, Side from_side,
       PumpOwner& owner);
  ~Pump();
  Pump(const Pump&) = delete;
  Pump& operator=(const Pump&) = delete;

  // The pump of the other direction: once it has ended, an EOF here needs no half-close (the
  // owner closes both sockets right away, which sends the FIN).
  void pairWith(const Pump& opposite) { opposite_ = &opposite; }

  // Both sockets must be open. `unread`: the source was registered with the reactor since the event
  // loop last polled (a socket that just connected without waiting), so any bytes it got are still
  // announced by epoll; the first read then waits for that instead of asking the kernel for an
  // EAGAIN.
  void start(bool unread = false);

  bool running() const { return stage_ == Stage::Reading || stage_ == Stage::Writing; }
  // Bytes moved so far; reason and error once ended.
  const PumpEnd& end() const { return end_; }
  // Whether this direction gave up on splice for good (refused by the kernel, or pipes off).
  bool copying() const { return copy_mode_; }
  // Holds a pipe or buffer right now (an idle direction must not).
  bool holdsResources() const { return pipe_.valid() || buffer_ != nullptr; }
  // Watches its source for a reset right now (see above).
  bool watching() const { return watching_; }

 private:
  enum class Stage : uint8_t { Idle, Reading, Writing, Ended };

  Attempt attempt(net::ReactorOp& op) override;
  void complete(net::ReactorOp& op, const std::error_code& ec) override;
  Attempt attemptRead();
  Attempt attemptWatch();
  void watchCompleted(const std::error_code& ec);
  bool needsWatch() const;
  void startWatch();
  void stopWatch();
  void readBehind(int& queued);
  Attempt failRead(std::error_code error);
  bool attemptWrite();
  bool takeResources();
  void releaseResources();
  void finish(CloseReason reason);

  const PumpPools& pools_;
  net::Socket& from_;
  net::Socket& to_;
  PumpOwner& owner_;
  net::ReactorOp op_;
  net::ReactorOp watch_;  // on from_'s read queue while op_ is not (see above)
  const Pump* opposite_ = nullptr;
  Pipe pipe_;
  char* buffer_ = nullptr;
  uint32_t pending_ = 0;  // bytes read and not yet written
  uint32_t offset_ = 0;   // copy mode: where the unwritten bytes start in buffer_
  PumpEnd end_;           // end_.error also carries a failed attempt to complete()
  int watch_errno_ = 0;   // what the watch found on the source
  Side from_side_;
  Stage stage_ = Stage::Idle;
  bool eof_ = false;           // the source sent its FIN (after the pending bytes, if any)
  bool read_failed_ = false;   // reading failed (after the pending bytes, if any)
  bool write_failed_ = false;  // writing failed: the other peer is gone
  bool drained_ = false;       // the last read emptied the socket (no data, no FIN left)
  bool skip_attempt_ = false;  // start()'s read attempt would only hear EAGAIN
  bool copy_mode_ = false;     // splice is off or was refused
  bool bulk_ = false;          // reads are large: splice them
  bool copy_next_ = false;     // the next read is a plain one (past an urgent mark, or EOF check)
  bool watching_ = false;      // watch_ may be queued on from_
  bool watch_busy_ = false;    // watch_ started and its completion has not run yet
  bool watch_after_end_ = false;  // ended by EOF while the other direction runs: keep watching
  bool source_failed_ = false;    // the watch found an error: op_ was cancelled for it
};

}  // namespace edge::proxy
