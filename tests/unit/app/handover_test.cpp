#include "app/handover.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../health/log_capture.h"
#include "net/fd.h"
#include "run_until.h"

namespace edge::app {
namespace {

using namespace std::chrono_literals;
using net::Fd;
using test::run_until;

std::string tempSocketPath() {
  static std::atomic<int> counter{0};
  auto path = "/tmp/edge-handover-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
              ".sock";
  ::unlink(path.c_str());
  return path;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

int openDescriptors() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  while (const dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n - 1;  // the directory's own
}

Fd listenTcp(int backlog = 64) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::listen(fd.get(), backlog), 0);
  return fd;
}

uint16_t localPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

Fd connectTcp(uint16_t port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return Fd();
  return fd;
}

// Waits (bounded) for `fd` to be readable; then accepts or reads.
bool readable(int fd, std::chrono::milliseconds within = 5s) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(within.count())) == 1;
}

std::string readSome(int fd) {
  if (!readable(fd)) return "<timeout>";
  char buf[1024];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  if (n < 0) return std::string("<") + std::strerror(errno) + ">";
  return std::string(buf, static_cast<size_t>(n));
}

Fd connectUnix(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return Fd();
  return fd;
}

const std::string kHello("EDGEHOVR\0\0\0\1", 12);

// An old process: a HandoverServer on its own io_context thread, as the main thread runs it.
class OldProcess {
 public:
  explicit OldProcess(std::string path, std::vector<HandedListener> listeners = {},
                      std::chrono::milliseconds timeout = kHandoverTimeout)
      : path_(std::move(path)),
        server_(
            io_, path_, [this] { return listeners_; },
            [this](pid_t pid) {
              taken_pid_ = pid;
              ++taken_over_;
            },
            timeout),
        listeners_(std::move(listeners)) {}
  ~OldProcess() { halt(); }

  bool start(std::string& error) {
    if (!server_.start(error)) return false;
    thread_ = std::thread([this] { io_.run(); });
    return true;
  }
  void halt() {
    if (!thread_.joinable()) return;
    std::promise<void> stopped;
    asio::post(io_, [&] {
      server_.stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    guard_.reset();
    thread_.join();
  }

  int takenOver() const { return taken_over_; }
  pid_t takenPid() const { return taken_pid_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  std::string path_;
  HandoverServer server_;
  std::vector<HandedListener> listeners_;
  std::atomic<int> taken_over_{0};
  std::atomic<pid_t> taken_pid_{0};
  std::thread thread_;
};

TEST(Handover, QueuedConnectionsAreAcceptedByTheNewProcessWithNoneRefusedOrReset) {
  const auto path = tempSocketPath();
  constexpr int kListeners = 3;
  constexpr int kQueued = 4;
  std::vector<Fd> originals;
  std::vector<HandedListener> handed;
  std::vector<uint16_t> ports;
  for (int i = 0; i < kListeners; ++i) {
    originals.push_back(listenTcp());
    ports.push_back(localPort(originals.back().get()));
    handed.push_back({"route" + std::to_string(i) + "|127.0.0.1:" + std::to_string(ports.back()),
                      originals.back().get()});
  }
  // Clients that connect before the handover and sit in the old listeners' accept queues,
  // each with a greeting the new process must read.
  std::vector<std::vector<Fd>> clients(kListeners);
  for (int i = 0; i < kListeners; ++i) {
    for (int j = 0; j < kQueued; ++j) {
      clients[i].push_back(connectTcp(ports[i]));
      ASSERT_TRUE(clients[i].back().valid()) << std::strerror(errno);
      const auto hello = "client " + std::to_string(i) + "." + std::to_string(j);
      ASSERT_EQ(::send(clients[i].back().get(), hello.data(), hello.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(hello.size()));
    }
  }

  OldProcess old(path, handed);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  auto client = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(client) << error;
  EXPECT_EQ(client->peerPid(), ::getpid());
  auto received = client->listeners();
  ASSERT_EQ(received.size(), static_cast<size_t>(kListeners));
  EXPECT_TRUE(client->listeners().empty());  // ownership moved out once
  std::vector<Fd> owned;
  for (int i = 0; i < kListeners; ++i) {
    owned.emplace_back(received[i].fd);
    EXPECT_EQ(received[i].key, handed[i].key);
    EXPECT_NE(received[i].fd, handed[i].fd);
    EXPECT_EQ(localPort(received[i].fd), ports[i]);
    EXPECT_TRUE(::fcntl(received[i].fd, F_GETFD) & FD_CLOEXEC);
  }
  ASSERT_TRUE(client->confirmServing(error)) << error;
  // The acknowledgement comes after the old process gave PATH up.
  EXPECT_FALSE(exists(path));
  ASSERT_TRUE(run_until([&] { return old.takenOver() > 0; }, 5s));
  EXPECT_EQ(old.takenPid(), ::getpid());

  // The old process closes its descriptors: the sockets live on in the new one.
  originals.clear();
  int accepted = 0, failed = 0;
  for (int i = 0; i < kListeners; ++i) {
    for (int j = 0; j < kQueued; ++j) {
      ASSERT_TRUE(readable(owned[i].get())) << "listener " << i << " connection " << j;
      Fd conn(::accept4(owned[i].get(), nullptr, nullptr, SOCK_CLOEXEC));
      ASSERT_TRUE(conn.valid()) << std::strerror(errno);
      const auto greeting = readSome(conn.get());
      EXPECT_EQ(greeting.rfind("client " + std::to_string(i) + ".", 0), 0u) << greeting;
      ::send(conn.get(), "ok", 2, MSG_NOSIGNAL);
      ++accepted;
    }
  }
  for (auto& per_listener : clients) {
    for (auto& c : per_listener) failed += readSome(c.get()) != "ok";
  }
  EXPECT_EQ(accepted, kListeners * kQueued);
  EXPECT_EQ(failed, 0);
  // And a connection made after the handover reaches the new process too.
  auto late = connectTcp(ports[0]);
  ASSERT_TRUE(late.valid());
  ASSERT_TRUE(readable(owned[0].get()));
  Fd conn(::accept4(owned[0].get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(conn.valid());
  old.halt();
  EXPECT_EQ(old.takenOver(), 1);
}

TEST(Handover, MoreListenersThanTheSocketQueuesAreAllHandedOver) {
  // A Unix datagram/seqpacket receiver queues net.unix.max_dgram_qlen (10) messages: past
  // that the old process must wait for room without blocking its loop.
  const auto path = tempSocketPath();
  constexpr int kListeners = 200;
  std::vector<Fd> originals;
  std::vector<HandedListener> handed;
  for (int i = 0; i < kListeners; ++i) {
    originals.push_back(listenTcp(4));
    handed.push_back({"r|" + std::to_string(i), originals.back().get()});
  }
  OldProcess old(path, handed);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  auto client = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(client) << error;
  auto received = client->listeners();
  ASSERT_EQ(received.size(), static_cast<size_t>(kListeners));
  int mismatched = 0;
  for (int i = 0; i < kListeners; ++i) {
    mismatched +=
        received[i].key != handed[i].key || localPort(received[i].fd) != localPort(handed[i].fd);
    ::close(received[i].fd);
  }
  EXPECT_EQ(mismatched, 0);
  ASSERT_TRUE(client->confirmServing(error)) << error;
  ASSERT_TRUE(run_until([&] { return old.takenOver() == 1; }, 5s));
}

int wmemDefault() {
  std::ifstream f("/proc/sys/net/core/wmem_default");
  int bytes = 212992;
  f >> bytes;
  return bytes;
}

TEST(Handover, ASlowReaderMakesTheOldProcessWaitWithoutBlockingItsLoop) {
  // More bytes than the old process's send buffer holds (a record of 514 bytes costs about
  // 1.3 KiB of it), so it must wait for room: one listening socket handed under many keys.
  const auto path = tempSocketPath();
  const int listeners = std::max(400, 3 * wmemDefault() / 514);
  const int record = 2 + 512;
  auto original = listenTcp(4);
  std::vector<HandedListener> handed;
  for (int i = 0; i < listeners; ++i) handed.push_back({fmt::format("{:0512}", i), original.get()});
  OldProcess old(path, handed);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  auto slow = connectUnix(path);
  ASSERT_EQ(::send(slow.get(), kHello.data(), kHello.size(), MSG_NOSIGNAL), 12);
  const auto queued = [&] {
    int bytes = 0;
    ::ioctl(slow.get(), SIOCINQ, &bytes);
    return bytes;
  };
  const auto total = 16 + listeners * record;
  ASSERT_TRUE(run_until([&] { return queued() >= 16 + 50 * record; }, 5s)) << queued();
  // Meanwhile the old process still answers someone else (which then leaves).
  auto other = connectUnix(path);
  ASSERT_EQ(::send(other.get(), kHello.data(), kHello.size(), MSG_NOSIGNAL), 12);
  EXPECT_EQ(readSome(other.get()).size(), 16u);
  other.reset();
  EXPECT_LT(queued(), total);  // still waiting for room
  // Read everything: the rest follows as room appears.
  EXPECT_EQ(readSome(slow.get()).size(), 16u);
  int records = 0;
  for (int i = 0; i < listeners; ++i) records += readSome(slow.get()).size() == record;
  EXPECT_EQ(records, listeners);
  ASSERT_EQ(::send(slow.get(), "S", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(readSome(slow.get()), "D");
  ASSERT_TRUE(run_until([&] { return old.takenOver() == 1; }, 5s));
}

TEST(Handover, TheSocketFileIsPrivateToItsOwnerAndStopRemovesIt) {
  const auto path = tempSocketPath();
  OldProcess old(path);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  old.halt();
  EXPECT_FALSE(exists(path));
}

TEST(Handover, StopLeavesAFileThatIsNoLongerOurs) {
  const auto path = tempSocketPath();
  OldProcess old(path);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  ASSERT_EQ(::unlink(path.c_str()), 0);
  Fd file(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_TRUE(file.valid());
  old.halt();
  EXPECT_TRUE(exists(path));
  ::unlink(path.c_str());
}

TEST(Handover, AClientThatLeavesBeforeServingChangesNothingAndALaterOneTakesOver) {
  const auto path = tempSocketPath();
  auto listener = listenTcp();
  test::LogCapture log;
  OldProcess old(path, {{"default|127.0.0.1:1", listener.get()}});
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  {
    auto first = HandoverClient::connect(path, 5s, error);
    ASSERT_TRUE(first) << error;
    EXPECT_EQ(first->listeners().size(), 1u);  // closed at the end of the scope
  }
  const auto went_away =
      "upgrade: pid " + std::to_string(::getpid()) + " went away before serving; still serving";
  ASSERT_TRUE(run_until([&] { return log.count(went_away) == 1; }, 5s)) << log.text();
  EXPECT_EQ(old.takenOver(), 0);
  EXPECT_TRUE(exists(path));

  auto second = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(second) << error;
  for (auto& l : second->listeners()) ::close(l.fd);
  ASSERT_TRUE(second->confirmServing(error)) << error;
  ASSERT_TRUE(run_until([&] { return old.takenOver() == 1; }, 5s));
  EXPECT_EQ(log.count("went away"), 1u);
}

TEST(Handover, AClientSilentPastTheTimeoutIsDroppedAndTheServerKeepsServing) {
  const auto path = tempSocketPath();
  auto listener = listenTcp();
  test::LogCapture log;
  OldProcess old(path, {{"default|x", listener.get()}}, 200ms);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  auto silent = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(silent) << error;
  ASSERT_TRUE(
      run_until([&] { return log.count("went away before serving; still serving") == 1; }, 5s))
      << log.text();
  EXPECT_FALSE(silent->confirmServing(error));
  EXPECT_NE(error.find("closed the connection before acknowledging"), std::string::npos) << error;
  EXPECT_EQ(old.takenOver(), 0);

  auto next = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(next) << error;
  ASSERT_TRUE(next->confirmServing(error)) << error;
  ASSERT_TRUE(run_until([&] { return old.takenOver() == 1; }, 5s));
}

TEST(Handover, APeerSendingGarbageIsDroppedAndTheServerKeepsServing) {
  const auto path = tempSocketPath();
  auto listener = listenTcp();
  test::LogCapture log;
  OldProcess old(path, {{"default|x", listener.get()}});
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;

  // Not a hello.
  auto raw = connectUnix(path);
  ASSERT_TRUE(raw.valid());
  const std::string junk = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_GT(::send(raw.get(), junk.data(), junk.size(), MSG_NOSIGNAL), 0);
  EXPECT_EQ(readSome(raw.get()), "");  // closed without a word
  ASSERT_TRUE(run_until([&] { return log.count("sent not a handover hello; still serving"); }, 5s))
      << log.text();

  // A hello, then something else than 'S'.
  raw = connectUnix(path);
  ASSERT_TRUE(raw.valid());
  ASSERT_EQ(::send(raw.get(), kHello.data(), kHello.size(), MSG_NOSIGNAL), 12);
  EXPECT_EQ(readSome(raw.get()).size(), 16u);     // header
  EXPECT_EQ(readSome(raw.get()).size(), 2u + 9);  // the record (its descriptor is discarded)
  ASSERT_EQ(::send(raw.get(), "X", 1, MSG_NOSIGNAL), 1);
  EXPECT_EQ(readSome(raw.get()), "");
  ASSERT_TRUE(run_until([&] { return log.count("sent an unexpected message; still serving"); }, 5s))
      << log.text();

  // Another protocol version.
  raw = connectUnix(path);
  std::string v2 = kHello;
  v2[11] = 2;
  ASSERT_EQ(::send(raw.get(), v2.data(), v2.size(), MSG_NOSIGNAL), 12);
  EXPECT_EQ(readSome(raw.get()), "");
  ASSERT_TRUE(run_until([&] { return log.count("protocol version 2, we speak 1"); }, 5s));
  EXPECT_EQ(old.takenOver(), 0);

  auto real = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(real) << error;
  ASSERT_TRUE(real->confirmServing(error)) << error;
  ASSERT_TRUE(run_until([&] { return old.takenOver() == 1; }, 5s));
}

TEST(Handover, AStaleSocketFileLeftByACrashIsReplaced) {
  const auto path = tempSocketPath();
  {
    Fd dead(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    ASSERT_EQ(::bind(dead.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ASSERT_TRUE(exists(path));
  OldProcess old(path);
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  auto client = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(client) << error;
  EXPECT_TRUE(client->listeners().empty());
  ASSERT_TRUE(client->confirmServing(error)) << error;
}

TEST(Handover, ASecondServerOnALivePathIsRefusedAndTheFirstKeepsServing) {
  const auto path = tempSocketPath();
  OldProcess first(path);
  std::string error;
  ASSERT_TRUE(first.start(error)) << error;
  asio::io_context io;
  HandoverServer second(
      io, path, [] { return std::vector<HandedListener>{}; }, [](pid_t) {});
  EXPECT_FALSE(second.start(error));
  EXPECT_EQ(error, "upgrade socket " + path + ": another process (pid " +
                       std::to_string(::getpid()) + ") serves it");
  second.stop();  // must not remove the first one's file
  EXPECT_TRUE(exists(path));
  auto client = HandoverClient::connect(path, 5s, error);
  ASSERT_TRUE(client) << error;
  ASSERT_TRUE(client->confirmServing(error)) << error;
  ASSERT_TRUE(run_until([&] { return first.takenOver() == 1; }, 5s));
}

TEST(Handover, AFileThatIsNotASocketIsNeverReplaced) {
  const auto path = tempSocketPath();
  { Fd file(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)); }
  asio::io_context io;
  HandoverServer server(
      io, path, [] { return std::vector<HandedListener>{}; }, [](pid_t) {});
  std::string error;
  EXPECT_FALSE(server.start(error));
  EXPECT_EQ(error, "upgrade socket " + path + ": exists and is not a socket; not replacing it");
  server.stop();
  EXPECT_TRUE(exists(path));
  ::unlink(path.c_str());
}

TEST(Handover, ConnectingWithoutAnOldProcessSaysWhy) {
  const auto path = tempSocketPath();
  std::string error;
  EXPECT_FALSE(HandoverClient::connect(path, 1s, error));
  EXPECT_EQ(error, "upgrade from " + path +
                       ": no such socket (is the old process running with --upgrade-socket?)");
}

TEST(Handover, APeerWithAnotherUidIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another user";
  const auto path = tempSocketPath();
  auto listener = listenTcp();
  test::LogCapture log;
  OldProcess old(path, {{"default|x", listener.get()}});
  std::string error;
  ASSERT_TRUE(old.start(error)) << error;
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);  // past the file mode, to the SO_PEERCRED check
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit status: 0 = closed without sending anything, as it should be.
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) _exit(2);
    Fd fd = connectUnix(path);
    if (!fd.valid()) _exit(3);
    ::send(fd.get(), kHello.data(), kHello.size(), MSG_NOSIGNAL);
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) _exit(4);
    char buf[64];
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    // Reset when it closed with our hello unread.
    _exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(run_until(
      [&] {
        return log.count("refused a handover to pid " + std::to_string(child) + " (uid 65534)");
      },
      5s))
      << log.text();
  EXPECT_EQ(old.takenOver(), 0);
}

// --- The new process facing a malformed old one -------------------------------------------

// What a fake old process sends after the hello.
struct Message {
  std::string bytes;
  std::vector<int> fds;  // borrowed
};

std::string record(const std::string& key) {
  std::string out;
  out.push_back(static_cast<char>(key.size() >> 8));
  out.push_back(static_cast<char>(key.size() & 0xff));
  return out + key;
}

std::string header(uint32_t count, const char* magic = "EDGEHOVR", uint32_t version = 1) {
  std::string out(magic, 8);
  for (uint32_t v : {version, count})
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  return out;
}

void sendMessage(int fd, const Message& m) {
  iovec iov{const_cast<char*>(m.bytes.data()), m.bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * m.fds.size()));
  if (!m.fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * m.fds.size());
    std::memcpy(CMSG_DATA(c), m.fds.data(), sizeof(int) * m.fds.size());
  }
  ::sendmsg(fd, &msg, MSG_NOSIGNAL);
}

// Serves one connection on PATH from its own thread: reads the hello, sends `messages`, answers
// a confirmation with 'D', and waits (bounded) for the peer to close.
class FakeOldProcess {
 public:
  FakeOldProcess(const std::string& path, std::vector<Message> messages, bool hang_up)
      : path_(path), messages_(std::move(messages)), hang_up_(hang_up) {
    listener_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_.get(), 4), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeOldProcess() {
    thread_.join();
    listener_.reset();
    ::unlink(path_.c_str());
  }

 private:
  void serve() {
    if (!readable(listener_.get())) return;
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (readSome(conn.get()) != kHello) return;
    for (const auto& m : messages_) sendMessage(conn.get(), m);
    if (hang_up_) return;
    if (readSome(conn.get()) == "S") ::send(conn.get(), "D", 1, MSG_NOSIGNAL);
    readSome(conn.get());  // until the peer closes
  }

  std::string path_;
  std::vector<Message> messages_;
  bool hang_up_;
  Fd listener_;
  std::thread thread_;
};

struct MalformedCase {
  std::string name;
  std::function<std::vector<Message>(int listening, int other)> messages;  // fds borrowed
  std::function<Fd()> other;  // a second descriptor some cases send
  std::string expected;       // in the error
  bool hang_up = false;       // close the connection after the messages
};

void PrintTo(const MalformedCase& c, std::ostream* os) {
  *os << c.name;
}

Fd pipeEnd() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[1]);
  return Fd(fds[0]);
}

class HandoverClientRejects : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(HandoverClientRejects, WithAClearErrorAndNoLeakedDescriptor) {
  const auto& c = GetParam();
  const auto path = tempSocketPath();
  const int before = openDescriptors();
  std::string error;
  bool failed = false;
  {
    auto listening = listenTcp();
    auto other = c.other ? c.other() : Fd();
    FakeOldProcess fake(path, c.messages(listening.get(), other.get()), c.hang_up);
    auto client = HandoverClient::connect(path, 5s, error);
    // A message after the announced ones may only arrive after the client's last look: then
    // confirmServing finds it instead of the acknowledgement. Either way it is an error.
    if (client && c.name == "MoreRecordsThanAnnounced" && !client->confirmServing(error)) {
      EXPECT_NE(error.find("something else than its acknowledgement"), std::string::npos) << error;
      failed = true;
    } else {
      EXPECT_FALSE(client);
      failed = !client;
      EXPECT_NE(error.find(c.expected), std::string::npos) << error;
    }
  }
  EXPECT_TRUE(failed);
  EXPECT_EQ(openDescriptors(), before);
}

INSTANTIATE_TEST_SUITE_P(
    Handover, HandoverClientRejects,
    ::testing::Values(
        MalformedCase{"WrongMagic",
                      [](int, int) {
                        return std::vector<Message>{{header(0, "HAPROXY!"), {}}};
                      },
                      {},
                      "not a handover header"},
        MalformedCase{"TruncatedHeader",
                      [](int, int) {
                        return std::vector<Message>{{header(1).substr(0, 10), {}}};
                      },
                      {},
                      "not a handover header"},
        MalformedCase{"OtherVersion",
                      [](int, int) {
                        return std::vector<Message>{{header(0, "EDGEHOVR", 7), {}}};
                      },
                      {},
                      "protocol version 7, we speak 1"},
        MalformedCase{"AbsurdCount",
                      [](int, int) {
                        return std::vector<Message>{{header(1u << 30), {}}};
                      },
                      {},
                      "announces 1073741824 listeners"},
        MalformedCase{"FewerRecordsThanAnnounced",
                      [](int l, int) {
                        return std::vector<Message>{{header(2), {}}, {record("a|1"), {l}}};
                      },
                      {},
                      "listener 2 of 2: the old process closed the connection",
                      true},
        MalformedCase{"MoreRecordsThanAnnounced",
                      [](int l, int) {
                        return std::vector<Message>{
                            {header(1), {}}, {record("a|1"), {l}}, {record("b|2"), {l}}};
                      },
                      {},
                      "more listeners than the 1 announced"},
        MalformedCase{"TwoDescriptorsInOneRecord",
                      [](int l, int o) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {l, o}}};
                      },
                      [] { return listenTcp(); }, "(a|1): carries more than one descriptor"},
        MalformedCase{"RecordWithoutDescriptor",
                      [](int, int) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {}}};
                      },
                      {},
                      "listener 1 of 1 (a|1): carries no descriptor"},
        MalformedCase{
            "KeyLongerThanAllowed",
            [](int l, int) {
              return std::vector<Message>{{header(1), {}}, {record(std::string(600, 'k')), {l}}};
            },
            {},
            "listener 1 of 1: malformed record"},
        MalformedCase{"KeyLengthDisagreesWithTheRecord",
                      [](int l, int) {
                        return std::vector<Message>{{header(1), {}}, {record("abc") + "x", {l}}};
                      },
                      {},
                      "listener 1 of 1: malformed record"},
        MalformedCase{"APipeInsteadOfASocket",
                      [](int, int o) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {o}}};
                      },
                      pipeEnd, "(a|1): is not a socket"},
        MalformedCase{"ATcpSocketThatDoesNotListen",
                      [](int, int o) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {o}}};
                      },
                      [] { return Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); },
                      "(a|1): is not listening"},
        MalformedCase{"AUdpSocket",
                      [](int, int o) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {o}}};
                      },
                      [] { return Fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); },
                      "(a|1): is not a stream socket"},
        MalformedCase{"AListeningUnixSocket",
                      [](int, int o) {
                        return std::vector<Message>{{header(1), {}}, {record("a|1"), {o}}};
                      },
                      [] {
                        Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
                        sockaddr_un addr{};
                        addr.sun_family = AF_UNIX;  // autobind: an abstract name
                        ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(sa_family_t));
                        ::listen(fd.get(), 1);
                        return fd;
                      },
                      "(a|1): is not an IPv4 or IPv6 socket"},
        MalformedCase{"ADescriptorWithTheHeader",
                      [](int l, int) {
                        return std::vector<Message>{{header(0), {l}}};
                      },
                      {},
                      "not a handover header"}),
    [](const auto& test_info) { return test_info.param.name; });

}  // namespace
}  // namespace edge::app
