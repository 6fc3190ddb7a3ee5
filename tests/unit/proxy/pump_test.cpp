// The pump on real loopback TCP connections: each test wires `client peer → from` and
// `to → target peer`, drives the worker's io_context by hand and plays the peers with raw,
// non-blocking syscalls, so partial writes, EAGAIN and pipe-full states happen for real.

#include "proxy/pump.h"

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "net/socket_options.h"
#include "socket_util.h"

namespace edge::proxy {
namespace {

using asio::ip::tcp;
using net::Socket;
using Clock = std::chrono::steady_clock;

// A connected loopback pair: [0] connects, [1] is accepted. Both with TCP_INQ and SO_OOBINLINE,
// as the daemon's sockets have them (so the pump learns when a read emptied the socket, and
// urgent bytes stay in the stream).
std::pair<Socket, Socket> tcpPair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  Socket a(io);
  a.connect(acceptor.local_endpoint());
  Socket b = acceptor.accept(io);
  for (auto* s : {&a, &b}) {
    s->non_blocking(true);
    net::setReadQueueHint(s->native_handle());
    net::setUrgentInline(s->native_handle());
  }
  return {std::move(a), std::move(b)};
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  uint32_t x = 2463534242u;  // xorshift: bytes that expose any reordering or loss
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

void resetOnClose(Socket& s) {
  linger hard{1, 0};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
}

// Sends as much of `data` as the socket takes now; returns how much.
size_t sendSome(Socket& s, const std::string& data) {
  const ssize_t n = ::send(s.native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

void setSendBuffer(Socket& s, int bytes) {
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// Counts how often a pump said it ended, and what it said last.
struct Owner : PumpOwner {
  void pumpEnded(Pump& pump) override {
    ++ends;
    last = pump.end().reason;
  }
  int ends = 0;
  CloseReason last = CloseReason::None;
};

class PumpTest : public ::testing::Test {
 protected:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }  // as the daemon does

  // Builds the pump under test (client → target) with pipes of `pipe_size` (0: copy only);
  // reads of `splice_from` bytes or more switch it to splice (0: splice from the start).
  void makePump(size_t pipe_size, uint32_t splice_from = BufferPool::kSize) {
    pipes_.emplace(pipe_size);
    auto [client_peer, from] = tcpPair(io_);
    auto [to, target_peer] = tcpPair(io_);
    client_peer_.emplace(std::move(client_peer));
    from_.emplace(std::move(from));
    to_.emplace(std::move(to));
    target_peer_.emplace(std::move(target_peer));
    pools_.emplace(PumpPools{net::ReactorOp::reactorOf(io_), *pipes_, buffers_, splice_from});
    pump_.emplace(*pools_, *from_, *to_, Side::Client, owner_);
  }

  // Runs ready handlers and polls the reactor once; returns how many handlers ran.
  size_t turn() {
    io_.restart();
    return io_.poll();
  }

  // Client writes `data` while the target peer reads, until all arrived (bounded: 10 s).
  std::string pushThrough(const std::string& data, size_t read_chunk = 1 << 20) {
    std::string got;
    std::vector<char> buf(read_chunk);
    size_t sent = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (got.size() < data.size() && Clock::now() < deadline) {
      if (sent < data.size()) {
        const ssize_t n = ::send(client_peer_->native_handle(), data.data() + sent,
                                 data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
      }
      turn();
      const ssize_t r = ::recv(target_peer_->native_handle(), buf.data(), buf.size(), 0);
      if (r > 0) got.append(buf.data(), static_cast<size_t>(r));
    }
    return got;
  }

  // Drives the loop while `peer` reads, until `want` bytes arrived (bounded: 10 s).
  std::string receive(Socket& peer, size_t want) {
    std::string got;
    std::vector<char> buf(1 << 16);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (got.size() < want && Clock::now() < deadline) {
      turn();
      const ssize_t r = ::recv(peer.native_handle(), buf.data(), buf.size(), 0);
      if (r > 0) got.append(buf.data(), static_cast<size_t>(r));
    }
    return got;
  }

  // Reads what the target peer has until EOF (true) or nothing more comes (bounded: 5 s).
  bool readToEof(std::string& out, Socket* peer = nullptr) {
    if (peer == nullptr) peer = &*target_peer_;
    char buf[1 << 16];
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      turn();
      const ssize_t r = ::recv(peer->native_handle(), buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r > 0) out.append(buf, static_cast<size_t>(r));
    }
    return false;
  }

  void runUntilEnded(const Pump* pump = nullptr) {
    if (pump == nullptr) pump = &*pump_;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (pump->running() && Clock::now() < deadline) turn();
  }

  // Client sends `before`, one urgent byte 'X', then `after`: what the target peer must get.
  std::string sendAroundAnUrgentByte(const std::string& before, const std::string& after) {
    size_t sent = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    auto sendAll = [&](const std::string& data) {
      for (sent = 0; sent < data.size() && Clock::now() < deadline;) {
        sent += sendSome(*client_peer_, data.substr(sent));
        turn();
        drained_ += drainTarget();
      }
    };
    sendAll(before);
    EXPECT_EQ(::send(client_peer_->native_handle(), "X", 1, MSG_OOB), 1);
    sendAll(after);
    return before + "X" + after;
  }

  // What the target peer has now (non-blocking).
  std::string drainTarget() {
    std::string got;
    char buf[1 << 16];
    ssize_t r;
    while ((r = ::recv(target_peer_->native_handle(), buf, sizeof buf, 0)) > 0) {
      got.append(buf, static_cast<size_t>(r));
    }
    return got;
  }

  std::string drained_;  // what sendAroundAnUrgentByte read at the target peer meanwhile

  asio::io_context io_{1};
  std::optional<PipePool> pipes_;
  BufferPool buffers_;
  std::optional<PumpPools> pools_;
  std::optional<Socket> client_peer_, from_, to_, target_peer_;
  Owner owner_, other_owner_;  // the pump under test's, and any second pump's
  std::optional<Pump> pump_;
};

TEST_F(PumpTest, SplicesEveryByteInOrderAndGivesThePipeBackWhenDry) {
  makePump(64 * 1024);
  pump_->start();
  const auto data = pattern(4 << 20);
  const auto got = pushThrough(data);
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  EXPECT_EQ(pump_->end().bytes, data.size());
  EXPECT_FALSE(pump_->copying());
  EXPECT_GT(pipes_->handedOut(), 0u) << "a bulk transfer was never spliced";
  // The source is dry: the direction went idle and holds nothing.
  for (int i = 0; i < 10; ++i) turn();
  EXPECT_TRUE(pump_->running());
  EXPECT_FALSE(pump_->holdsResources());
  EXPECT_EQ(pipes_->idle(), 1u);   // the one pipe, back in the pool
  EXPECT_EQ(buffers_.idle(), 1u);  // and the buffer the first (small) reads used
}

TEST_F(PumpTest, SmallMessagesAreCopiedNotSpliced) {
  makePump(64 * 1024);
  pump_->start();
  for (int i = 0; i < 20; ++i) {
    const auto message = "request " + std::to_string(i) + "\r\n";
    EXPECT_EQ(pushThrough(message), message);
  }
  EXPECT_EQ(pipes_->handedOut(), 0u) << "a small message went through a pipe";
  EXPECT_EQ(buffers_.idle(), 1u);
  EXPECT_FALSE(pump_->holdsResources());
}

TEST_F(PumpTest, IdleDirectionHoldsNoPipeFromTheStart) {
  makePump(64 * 1024);
  pump_->start();
  for (int i = 0; i < 5; ++i) turn();
  EXPECT_TRUE(pump_->running());
  EXPECT_FALSE(pump_->holdsResources());
}

TEST_F(PumpTest, SlowReaderGetsPartialWritesAndBackPressureWithoutSpinning) {
  makePump(64 * 1024);
  setSendBuffer(*to_, 4096);  // the target side accepts little at a time: partial writes
  pump_->start();
  // The target peer reads nothing: the client can fill only the buffers in between, then
  // blocks; the pump must stop reading (bounded bytes in flight) and wait, not spin.
  const auto data = pattern(64 << 20);
  size_t sent = 0;
  for (int i = 0; i < 200; ++i) {
    const ssize_t n =
        ::send(client_peer_->native_handle(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
    turn();
  }
  EXPECT_LT(sent, data.size() / 4) << "nothing held the client back";
  EXPECT_TRUE(pump_->holdsResources());  // bytes in the pipe wait for the slow side
  EXPECT_EQ(turn(), 0u) << "a stalled pump must wait for readiness, not poll";
  // Now the reader catches up: every byte arrives, in order.
  const std::string expected = data.substr(0, sent);
  EXPECT_TRUE(receive(*target_peer_, expected.size()) == expected);
}

TEST_F(PumpTest, PipeFullCyclesWithTheSmallestPipe) {
  makePump(4096, /*splice_from=*/0);
  EXPECT_EQ(pipes_->pipeSize(), 4096u);
  pump_->start();
  const auto data = pattern(2 << 20);
  const auto got = pushThrough(data, 1000);  // odd-sized reads on the far side too
  EXPECT_TRUE(got == data);
}

TEST_F(PumpTest, CopiesThroughAPooledBufferWhenPipesAreOff) {
  makePump(0);
  pump_->start();
  const auto data = pattern(3 << 20);
  EXPECT_TRUE(pushThrough(data) == data);
  EXPECT_TRUE(pump_->copying());
  for (int i = 0; i < 5; ++i) turn();
  EXPECT_FALSE(pump_->holdsResources());
  EXPECT_EQ(buffers_.idle(), 1u);
  EXPECT_EQ(pipes_->idle(), 0u);
}

TEST_F(PumpTest, FallsBackToCopyingWhenTheKernelRefusesSplice) {
  makePump(64 * 1024, /*splice_from=*/0);
  // An eventfd is readable but cannot be spliced (EINVAL): the pump must copy instead.
  Socket source(io_);
  source.assign(tcp::v4(), ::eventfd(42, EFD_NONBLOCK));
  Pump pump(*pools_, source, *to_, Side::Client, other_owner_);
  pump.start();
  const std::string got = receive(*target_peer_, 8);
  ASSERT_EQ(got.size(), 8u);
  uint64_t value = 0;
  std::memcpy(&value, got.data(), 8);
  EXPECT_EQ(value, 42u);
  EXPECT_TRUE(pump.copying());
  source.close();  // ends it: the pump reports a stop from outside
  for (int i = 0; i < 5 && pump.running(); ++i) turn();
  EXPECT_FALSE(pump.running());
  EXPECT_EQ(pump.end().reason, CloseReason::None);
}

TEST_F(PumpTest, ClientEofHalfClosesTheTargetAndTheOtherWayKeepsFlowing) {
  makePump(64 * 1024);
  Pump down(*pools_, *to_, *from_, Side::Target, other_owner_);
  pump_->start();
  down.start();
  ASSERT_EQ(::send(client_peer_->native_handle(), "last words", 10, 0), 10);
  ::shutdown(client_peer_->native_handle(), SHUT_WR);
  std::string got;
  ASSERT_TRUE(readToEof(got));
  EXPECT_EQ(got, "last words");
  EXPECT_FALSE(pump_->running());
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientClosed);
  EXPECT_EQ(owner_.ends, 1);
  // The reply still reaches the half-closed client.
  ASSERT_EQ(::send(target_peer_->native_handle(), "reply", 5, 0), 5);
  EXPECT_EQ(receive(*client_peer_, 5), "reply");
  EXPECT_TRUE(down.running());
  to_->close();  // end `down` before it goes out of scope
  for (int i = 0; i < 5 && down.running(); ++i) turn();
}

TEST_F(PumpTest, AfterEmptyingTheSocketItWaitsForTheNextMessageAndTheFin) {
  // Each read below empties the socket, so the pump waits for the next readiness edge without
  // asking again: the next message, and a FIN that comes alone, must still wake it.
  makePump(64 * 1024);
  pump_->start();
  for (const std::string message : {"one", "two"}) {
    ASSERT_EQ(::send(client_peer_->native_handle(), message.data(), message.size(), 0), 3);
    EXPECT_EQ(receive(*target_peer_, 3), message);
    for (int i = 0; i < 3; ++i) turn();
    EXPECT_TRUE(pump_->running());
    EXPECT_FALSE(pump_->holdsResources());
  }
  ::shutdown(client_peer_->native_handle(), SHUT_WR);
  std::string rest;
  ASSERT_TRUE(readToEof(rest));
  EXPECT_EQ(rest, "");
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientClosed);
}

TEST_F(PumpTest, AFinQueuedBehindTheLastBytesLeavesInTheSameSegment) {
  // A reply and the FIN right behind it (a server answering, then closing): the pump reads
  // both before writing, so the peer gets bytes and FIN in one segment, not two.
  makePump(64 * 1024);
  ASSERT_EQ(::send(client_peer_->native_handle(), "last reply", 10, 0), 10);
  ::shutdown(client_peer_->native_handle(), SHUT_WR);  // on loopback both are queued on return
  const uint32_t segments_before = test::segments_sent(to_->native_handle());
  pump_->start();
  std::string got;
  ASSERT_TRUE(readToEof(got));
  EXPECT_EQ(got, "last reply");
  EXPECT_EQ(test::segments_sent(to_->native_handle()) - segments_before, 1u);
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientClosed);
  EXPECT_EQ(pump_->end().bytes, 10u);
  EXPECT_FALSE(pump_->holdsResources());
}

TEST_F(PumpTest, AnUnreadStartStillGetsWhatArrivedBeforeIt) {
  // The session starts a just-connected target's pump without a first read: what came in
  // before (a server's banner) must still wake it, as must what comes after.
  makePump(64 * 1024);
  ASSERT_EQ(::send(client_peer_->native_handle(), "banner", 6, 0), 6);
  pump_->start(/*unread=*/true);  // no poll has run since the sockets were made
  EXPECT_EQ(receive(*target_peer_, 6), "banner");
  ASSERT_EQ(::send(client_peer_->native_handle(), "more", 4, 0), 4);
  EXPECT_EQ(receive(*target_peer_, 4), "more");
  EXPECT_TRUE(pump_->running());
}

TEST_F(PumpTest, TargetEofIsReportedAsTargetClosed) {
  makePump(64 * 1024);
  Pump down(*pools_, *to_, *from_, Side::Target, other_owner_);
  down.start();
  ::shutdown(target_peer_->native_handle(), SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (down.running() && Clock::now() < deadline) turn();
  EXPECT_EQ(down.end().reason, CloseReason::TargetClosed);
  char c;
  EXPECT_EQ(::recv(client_peer_->native_handle(), &c, 1, 0), 0) << "client did not get EOF";
}

TEST_F(PumpTest, ResetByTheReadSideIsAClientReset) {
  makePump(64 * 1024);
  pump_->start();
  linger hard{1, 0};  // close with RST
  ::setsockopt(client_peer_->native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  client_peer_->close();
  runUntilEnded();
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientReset);
  EXPECT_EQ(pump_->end().error, std::error_code(ECONNRESET, std::system_category()));
  EXPECT_FALSE(pump_->holdsResources());
}

TEST_F(PumpTest, WriteSideGoneIsATargetResetAndTheUsedPipeIsNotReused) {
  makePump(64 * 1024, /*splice_from=*/0);
  pump_->start();
  linger hard{1, 0};
  ::setsockopt(target_peer_->native_handle(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  target_peer_->close();
  const auto data = pattern(1 << 20);
  size_t sent = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (pump_->running() && Clock::now() < deadline) {
    const ssize_t n =
        ::send(client_peer_->native_handle(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent = (sent + static_cast<size_t>(n)) % data.size();
    turn();
  }
  EXPECT_EQ(pump_->end().reason, CloseReason::TargetReset);
  EXPECT_TRUE(pump_->end().error);
  EXPECT_FALSE(pump_->holdsResources());
  EXPECT_EQ(pipes_->idle(), 0u) << "a pipe with bytes in it went back to the pool";
}

TEST_F(PumpTest, ClosingTheSocketsStopsAWaitingPumpAndDropsItsFullPipe) {
  makePump(64 * 1024, /*splice_from=*/0);
  setSendBuffer(*to_, 4096);
  pump_->start();
  const auto data = pattern(8 << 20);
  for (int i = 0; i < 50; ++i) {
    ::send(client_peer_->native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
    turn();
  }
  ASSERT_TRUE(pump_->holdsResources());
  from_->close();  // what Session::abort does
  to_->close();
  runUntilEnded();
  EXPECT_FALSE(pump_->running());
  EXPECT_EQ(pump_->end().reason, CloseReason::None);
  EXPECT_EQ(owner_.ends, 1);
  EXPECT_EQ(pipes_->idle(), 0u) << "a pipe with bytes in it went back to the pool";
}

// Issue 9, defect 1: splice() stops in front of an urgent byte; the pump used to wait there for
// ever, or take the 0 that splice() answers once the FIN is in for the end of the stream.
struct UrgentCase {
  const char* name;
  size_t pipe_size;
  uint32_t splice_from;
};

void PrintTo(const UrgentCase& c, std::ostream* os) {
  *os << c.name;
}

class PumpUrgentTest : public PumpTest, public ::testing::WithParamInterface<UrgentCase> {};

TEST_P(PumpUrgentTest, TheUrgentByteAndEverythingAfterItArriveBeforeTheEof) {
  makePump(GetParam().pipe_size, GetParam().splice_from);
  pump_->start();
  const auto before = pattern(1 << 20), after = pattern(1 << 20).substr(7);
  const std::string expected = sendAroundAnUrgentByte(before, after);
  ::shutdown(client_peer_->native_handle(), SHUT_WR);
  std::string got = drained_;
  ASSERT_TRUE(readToEof(got)) << "no EOF after " << got.size() << " bytes";
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "bytes differ";
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientClosed);
  EXPECT_EQ(pump_->end().bytes, expected.size());
}

TEST_P(PumpUrgentTest, WithoutAFinTheBytesAfterTheUrgentByteStillArrive) {
  makePump(GetParam().pipe_size, GetParam().splice_from);
  pump_->start();
  const auto before = pattern(1 << 20), after = pattern(3000);
  const std::string expected = sendAroundAnUrgentByte(before, after);
  std::string got = drained_;
  got += receive(*target_peer_, expected.size() - got.size());
  EXPECT_EQ(got.size(), expected.size()) << "the stream stalled at the urgent byte";
  EXPECT_TRUE(got == expected);
  EXPECT_TRUE(pump_->running());
}

TEST_P(PumpUrgentTest, ManyUrgentBytesInSmallAndLargeChunks) {
  makePump(GetParam().pipe_size, GetParam().splice_from);
  pump_->start();
  std::string expected, got;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (size_t size : {1u, 100u, 16383u, 16384u, 16385u, 65536u, 300000u}) {
    const std::string chunk = pattern(size);
    for (size_t sent = 0; sent < chunk.size() && Clock::now() < deadline;) {
      sent += sendSome(*client_peer_, chunk.substr(sent));
      turn();
      got += drainTarget();
    }
    ASSERT_EQ(::send(client_peer_->native_handle(), "!", 1, MSG_OOB), 1);
    expected += chunk + "!";
  }
  ::shutdown(client_peer_->native_handle(), SHUT_WR);
  ASSERT_TRUE(readToEof(got));
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected);
}

INSTANTIATE_TEST_SUITE_P(Modes, PumpUrgentTest,
                         ::testing::Values(UrgentCase{"Splice1m", 1 << 20, BufferPool::kSize},
                                           UrgentCase{"SpliceFromTheStart", 64 * 1024, 0},
                                           UrgentCase{"Splice4k", 4096, 0},
                                           UrgentCase{"CopyOnly", 0, BufferPool::kSize}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// Issue 9, defect 3: a direction waiting to write to a peer that does not read used to leave
// its source unwatched, so a reset there went unnoticed while the other peer stayed silent.
TEST_F(PumpTest, ClientResetIsNoticedWhileWaitingForAStalledTarget) {
  makePump(64 * 1024, /*splice_from=*/0);
  Pump down(*pools_, *to_, *from_, Side::Target, other_owner_);
  pump_->pairWith(down);
  down.pairWith(*pump_);
  pump_->start();
  down.start();
  // The target peer neither reads nor writes: fill everything up to the client.
  const auto data = pattern(8 << 20);
  for (int i = 0; i < 50; ++i) {
    sendSome(*client_peer_, data);
    turn();
  }
  ASSERT_TRUE(pump_->running());
  ASSERT_TRUE(pump_->holdsResources()) << "the pump is not waiting to write";
  EXPECT_TRUE(pump_->watching());
  resetOnClose(*client_peer_);
  client_peer_->close();
  runUntilEnded();
  EXPECT_FALSE(pump_->running()) << "the client's reset went unnoticed";
  EXPECT_EQ(pump_->end().reason, CloseReason::ClientReset);
  EXPECT_EQ(pump_->end().error, std::error_code(ECONNRESET, std::system_category()));
  EXPECT_EQ(owner_.ends, 1);
  EXPECT_FALSE(pump_->holdsResources());
  to_->close();  // what the owner does next; ends `down`
  runUntilEnded(&down);
}

TEST_F(PumpTest, TargetResetIsNoticedWhileWaitingForAStalledClient) {
  makePump(64 * 1024, /*splice_from=*/0);
  Pump down(*pools_, *to_, *from_, Side::Target, other_owner_);
  pump_->pairWith(down);
  down.pairWith(*pump_);
  pump_->start();
  down.start();
  const auto data = pattern(8 << 20);
  for (int i = 0; i < 50; ++i) {
    sendSome(*target_peer_, data);
    turn();
  }
  ASSERT_TRUE(down.running());
  ASSERT_TRUE(down.holdsResources()) << "the pump is not waiting to write";
  resetOnClose(*target_peer_);
  target_peer_->close();
  runUntilEnded(&down);
  EXPECT_FALSE(down.running()) << "the target's reset went unnoticed";
  EXPECT_EQ(down.end().reason, CloseReason::TargetReset);
  EXPECT_EQ(other_owner_.ends, 1);
  from_->close();
  runUntilEnded();
}

TEST_F(PumpTest, AResetAfterTheClientsFinIsStillPassedOn) {
  // The client half-closes (the up direction ends cleanly), the target stays silent, then the
  // client resets: the owner must hear of it although nothing reads the client any more.
  makePump(64 * 1024);
  Pump down(*pools_, *to_, *from_, Side::Target, other_owner_);
  pump_->pairWith(down);
  down.pairWith(*pump_);
  pump_->start();
  down.start();
  ASSERT_EQ(::send(client_peer_->native_handle(), "bye", 3, 0), 3);
  ::shutdown(client_peer_->native_handle(), SHUT_WR);
  std::string got;
  ASSERT_TRUE(readToEof(got));
  ASSERT_EQ(pump_->end().reason, CloseReason::ClientClosed);
  EXPECT_EQ(owner_.ends, 1);
  EXPECT_TRUE(down.running());
  resetOnClose(*client_peer_);
  client_peer_->close();
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (owner_.ends < 2 && Clock::now() < deadline) turn();
  EXPECT_EQ(owner_.ends, 2) << "the reset after the FIN went unnoticed";
  EXPECT_EQ(owner_.last, CloseReason::ClientReset);
  to_->close();
  from_->close();
  runUntilEnded(&down);
  for (int i = 0; i < 3; ++i) turn();
}

TEST_F(PumpTest, TheWatchStopsWhenTheDirectionReadsAgain) {
  // Stalled, then the target catches up: the direction reads its source again (the watch is
  // off its queue, or the read would never run) and every byte arrives.
  makePump(64 * 1024, /*splice_from=*/0);
  setSendBuffer(*to_, 4096);
  pump_->start();
  const auto data = pattern(4 << 20);
  size_t sent = 0;
  for (int i = 0; i < 30; ++i) {
    sent += sendSome(*client_peer_, data.substr(sent));
    turn();
  }
  ASSERT_TRUE(pump_->watching());
  std::string got = receive(*target_peer_, sent);
  while (sent < data.size()) {
    sent += sendSome(*client_peer_, data.substr(sent));
    got += receive(*target_peer_, sent - got.size());
    if (got.size() < sent) break;
  }
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

}  // namespace
}  // namespace edge::proxy
