#include "app/handover.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>

namespace edge::app {
namespace {

constexpr std::array<char, 8> kMagic = {'E', 'D', 'G', 'E', 'H', 'O', 'V', 'R'};
constexpr uint32_t kVersion = 1;
constexpr size_t kHelloSize = 12;
constexpr size_t kHeaderSize = 16;
constexpr char kServing = 'S';
constexpr char kDone = 'D';
// More than any real process has (256 workers x many routes), small enough that a bogus count
// cannot make the new process reserve much.
constexpr uint32_t kMaxListeners = 65536;

void putU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

uint32_t getU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string errnoText(int e) {
  return std::strerror(e);
}

bool fillAddress(const std::string& path, sockaddr_un& addr, std::string& error) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    error = fmt::format("upgrade socket '{}': a path of 1-{} bytes is needed", path,
                        sizeof(addr.sun_path) - 1);
    return false;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

std::optional<ucred> peerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  return cred;
}

bool trustedUid(uid_t uid) {
  return uid == ::geteuid() || uid == 0;
}

int intOption(int fd, int level, int name, bool& ok) {
  int value = 0;
  socklen_t len = sizeof(value);
  ok = ::getsockopt(fd, level, name, &value, &len) == 0;
  return value;
}

// Why `fd` is not a listening TCP socket; "" if it is one.
std::string notAListener(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "cannot be inspected: " + errnoText(errno);
  if (!S_ISSOCK(st.st_mode)) return "is not a socket";
  bool ok = false;
  const int domain = intOption(fd, SOL_SOCKET, SO_DOMAIN, ok);
  if (!ok || (domain != AF_INET && domain != AF_INET6)) return "is not an IPv4 or IPv6 socket";
  const int type = intOption(fd, SOL_SOCKET, SO_TYPE, ok);
  if (!ok || type != SOCK_STREAM) return "is not a stream socket";
  const int protocol = intOption(fd, SOL_SOCKET, SO_PROTOCOL, ok);
  if (!ok || protocol != IPPROTO_TCP) return "is not a TCP socket";
  const int listening = intOption(fd, SOL_SOCKET, SO_ACCEPTCONN, ok);
  if (!ok || listening == 0) return "is not listening";
  return "";
}

// The key as it may appear in an error: printable ASCII, cut.
std::string printable(std::string_view key) {
  std::string out;
  for (char c : key.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  if (key.size() > 64) out += "...";
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Old process side.

struct HandoverServer::Impl : std::enable_shared_from_this<HandoverServer::Impl> {
  // One new process talking to us. Owned by Impl::sessions; handlers hold a shared_ptr.
  struct Session : std::enable_shared_from_this<Session> {
    enum class State { Hello, Sending, AwaitServing, Acking, Done };
    struct Message {
      std::string bytes;
      net::Fd fd;  // our own duplicate, closed once sent
    };

    Session(const std::shared_ptr<Impl>& owner, int fd, pid_t pid)
        : owner_(owner), socket_(owner->io_, fd), timer_(owner->io_), pid_(pid) {}

    void begin() {
      timer_.expires_after(owner_.lock()->timeout_);
      timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
        if (ec || self->state_ == State::Done) return;
        self->fail("");  // silent too long (while acking: commits without the ack)
      });
      waitReadable();
    }

    void waitReadable() {
      socket_.async_wait(asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](const std::error_code& ec) {
                           if (ec || self->state_ == State::Done) return;
                           self->onReadable();
                         });
    }

    void onReadable() {
      std::array<char, 64> buf{};
      msghdr msg{};
      iovec iov{buf.data(), buf.size()};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      // No control buffer: a descriptor the peer sends us is released by the kernel.
      const ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return waitReadable();
      if (n <= 0) return fail("");  // EOF or reset: the new process is gone
      const auto size = static_cast<size_t>(n);
      if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) return fail("an oversized message");
      if (state_ == State::Hello) {
        if (size != kHelloSize || std::memcmp(buf.data(), kMagic.data(), kMagic.size()) != 0)
          return fail("not a handover hello");
        const uint32_t version = getU32(buf.data() + kMagic.size());
        if (version != kVersion)
          return fail(fmt::format("protocol version {}, we speak {}", version, kVersion));
        if (!sendListeners()) return;
        return waitReadable();
      }
      if (state_ == State::AwaitServing && size == 1 && buf[0] == kServing) return commit();
      fail("an unexpected message");
    }

    bool sendListeners() {
      auto owner = owner_.lock();
      if (!owner) return false;
      const auto listeners =
          owner->listeners_ ? owner->listeners_() : std::vector<HandedListener>{};
      std::string header(kMagic.begin(), kMagic.end());
      putU32(header, kVersion);
      putU32(header, static_cast<uint32_t>(listeners.size()));
      out_.push_back({std::move(header), net::Fd()});
      for (const auto& l : listeners) {
        // Duplicates: the caller may close a listener while the exchange waits for buffer space.
        net::Fd dup(::fcntl(l.fd, F_DUPFD_CLOEXEC, 0));
        if (!dup.valid() || l.key.size() > kMaxHandoverKey) {
          spdlog::error("upgrade: listener '{}' (fd {}) cannot be handed over: {}",
                        printable(l.key), l.fd, dup.valid() ? "key too long" : errnoText(errno));
          close();
          return false;
        }
        std::string record;
        record.push_back(static_cast<char>(l.key.size() >> 8));
        record.push_back(static_cast<char>(l.key.size() & 0xff));
        record += l.key;
        out_.push_back({std::move(record), std::move(dup)});
      }
      state_ = State::Sending;
      flush();
      return state_ != State::Done;
    }

    // Sends what is queued until the socket's buffer is full, then waits for room.
    void flush() {
      while (!out_.empty()) {
        auto& m = out_.front();
        iovec iov{m.bytes.data(), m.bytes.size()};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
        if (m.fd.valid()) {
          msg.msg_control = control.data();
          msg.msg_controllen = control.size();
          cmsghdr* c = CMSG_FIRSTHDR(&msg);
          c->cmsg_level = SOL_SOCKET;
          c->cmsg_type = SCM_RIGHTS;
          c->cmsg_len = CMSG_LEN(sizeof(int));
          const int fd = m.fd.get();
          std::memcpy(CMSG_DATA(c), &fd, sizeof(fd));
        }
        const ssize_t n = ::sendmsg(socket_.native_handle(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
          socket_.async_wait(asio::posix::descriptor_base::wait_write,
                             [self = shared_from_this()](const std::error_code& ec) {
                               if (ec || self->state_ == State::Done) return;
                               self->flush();
                             });
          return;
        }
        if (n < 0) {
          if (errno == EPIPE || errno == ECONNRESET) return fail("");
          return fail("sendmsg: " + errnoText(errno));
        }
        out_.pop_front();
      }
      if (state_ == State::Sending) state_ = State::AwaitServing;
      if (state_ == State::Acking) finish();
    }

    // The new process serves: from here on the handover happens whatever else goes wrong.
    void commit() {
      auto owner = owner_.lock();
      if (!owner || owner->taken_over_) return close();
      owner->taken_over_ = true;
      state_ = State::Acking;
      owner->closeListening(this);  // PATH is free before the new process hears 'D'
      out_.push_back({std::string(1, kDone), net::Fd()});
      flush();
    }

    void finish() {
      auto owner = owner_.lock();
      close();
      if (!owner) return;
      auto on_taken_over = owner->on_taken_over_;  // the callback may destroy the server
      if (on_taken_over) on_taken_over(pid_);
    }

    // `why` empty: the peer left or timed out.
    void fail(const std::string& why) {
      if (state_ == State::Acking) return finish();  // committed: the ack is a courtesy
      const bool said_hello = state_ != State::Hello;
      close();
      if (!why.empty()) {
        spdlog::warn("upgrade: pid {} sent {}; still serving", pid_, why);
      } else if (said_hello) {
        spdlog::warn("upgrade: pid {} went away before serving; still serving", pid_);
      } else {
        // A probe (another server checking whether PATH is live) or an aborted start.
        spdlog::debug("upgrade: pid {} connected and left without asking", pid_);
      }
    }

    void close() {
      if (state_ == State::Done) return;
      state_ = State::Done;
      out_.clear();
      std::error_code ignored;
      timer_.cancel();
      socket_.close(ignored);
      if (auto owner = owner_.lock()) owner->sessions_.remove(shared_from_this());
    }

    std::weak_ptr<Impl> owner_;
    asio::posix::stream_descriptor socket_;
    asio::steady_timer timer_;
    pid_t pid_;
    State state_ = State::Hello;
    std::deque<Message> out_;
  };

  Impl(asio::io_context& io, std::string path, std::function<std::vector<HandedListener>()> l,
       std::function<void(pid_t)> t, std::chrono::milliseconds timeout)
      : io_(io),
        path_(std::move(path)),
        listeners_(std::move(l)),
        on_taken_over_(std::move(t)),
        timeout_(timeout),
        acceptor_(io) {}

  bool start(std::string& error) {
    if (acceptor_.is_open()) {
      error = fmt::format("upgrade socket {}: already started", path_);
      return false;
    }
    sockaddr_un addr{};
    if (!fillAddress(path_, addr, error)) return false;
    if (!clearStale(addr, error)) return false;
    net::Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      error = fmt::format("upgrade socket {}: socket: {}", path_, errnoText(errno));
      return false;
    }
    // Linux creates the file with the socket inode's mode (less the umask): 0600 from the
    // start, with no window where another user could connect.
    ::fchmod(fd.get(), 0600);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      error = fmt::format("upgrade socket {}: bind: {}", path_, errnoText(errno));
      return false;
    }
    struct stat st {};
    if (::chmod(path_.c_str(), 0600) != 0 || ::stat(path_.c_str(), &st) != 0) {
      error = fmt::format("upgrade socket {}: {}", path_, errnoText(errno));
      ::unlink(path_.c_str());
      return false;
    }
    if (::listen(fd.get(), 8) != 0) {
      error = fmt::format("upgrade socket {}: listen: {}", path_, errnoText(errno));
      ::unlink(path_.c_str());
      return false;
    }
    bound_ = true;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    taken_over_ = false;
    acceptor_.assign(fd.release());
    waitAccept();
    return true;
  }

  // PATH exists: a socket nobody answers on is a crash's leftover and goes; anything else
  // stays and is an error.
  bool clearStale(const sockaddr_un& addr, std::string& error) {
    struct stat st {};
    if (::lstat(path_.c_str(), &st) != 0) {
      if (errno == ENOENT) return true;
      error = fmt::format("upgrade socket {}: {}", path_, errnoText(errno));
      return false;
    }
    if (!S_ISSOCK(st.st_mode)) {
      error = fmt::format("upgrade socket {}: exists and is not a socket; not replacing it", path_);
      return false;
    }
    net::Fd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe.valid()) {
      error = fmt::format("upgrade socket {}: socket: {}", path_, errnoText(errno));
      return false;
    }
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) {
      const auto cred = peerCredentials(probe.get());
      error = fmt::format("upgrade socket {}: another process (pid {}) serves it", path_,
                          cred ? cred->pid : 0);
      return false;
    }
    const int e = errno;
    if (e == EAGAIN) {  // its backlog is full: someone is there
      error = fmt::format("upgrade socket {}: another process serves it", path_);
      return false;
    }
    if (e != ECONNREFUSED) {
      error = fmt::format("upgrade socket {}: {}; not replacing it", path_, errnoText(e));
      return false;
    }
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      error = fmt::format("upgrade socket {}: cannot remove the stale socket: {}", path_,
                          errnoText(errno));
      return false;
    }
    spdlog::info("upgrade: removed the stale socket {} (nothing answered on it)", path_);
    return true;
  }

  void waitAccept() {
    acceptor_.async_wait(asio::posix::descriptor_base::wait_read,
                         [self = shared_from_this()](const std::error_code& ec) {
                           if (ec || !self->acceptor_.is_open()) return;
                           self->acceptAll();
                         });
  }

  void acceptAll() {
    while (acceptor_.is_open()) {
      const int fd =
          ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN) spdlog::warn("upgrade: accept on {}: {}", path_, errnoText(errno));
        break;  // EMFILE and friends: try again at the next readiness
      }
      const auto cred = peerCredentials(fd);
      if (!cred || !trustedUid(cred->uid)) {
        spdlog::warn("upgrade: refused a handover to pid {} (uid {}): not our uid nor root",
                     cred ? cred->pid : 0, cred ? static_cast<long>(cred->uid) : -1L);
        ::close(fd);
        continue;
      }
      auto session = std::make_shared<Session>(shared_from_this(), fd, cred->pid);
      sessions_.push_back(session);
      session->begin();
    }
    waitAccept();
  }

  // Stops accepting and removes PATH if it is still ours; ends every session but `keep`.
  void closeListening(const Session* keep) {
    std::error_code ignored;
    acceptor_.close(ignored);
    if (bound_) {
      bound_ = false;
      struct stat st {};
      if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_ &&
          ::unlink(path_.c_str()) != 0) {
        spdlog::warn("upgrade: cannot remove {}: {}", path_, errnoText(errno));
      }
    }
    auto sessions = sessions_;  // close() edits the list
    for (auto& s : sessions)
      if (s.get() != keep) s->close();
  }

  asio::io_context& io_;
  std::string path_;
  std::function<std::vector<HandedListener>()> listeners_;
  std::function<void(pid_t)> on_taken_over_;
  std::chrono::milliseconds timeout_;
  asio::posix::stream_descriptor acceptor_;
  bool bound_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  bool taken_over_ = false;
  std::list<std::shared_ptr<Session>> sessions_;
};

HandoverServer::HandoverServer(asio::io_context& io, std::string path,
                               std::function<std::vector<HandedListener>()> listeners,
                               std::function<void(pid_t)> on_taken_over,
                               std::chrono::milliseconds timeout)
    : impl_(std::make_shared<Impl>(io, std::move(path), std::move(listeners),
                                   std::move(on_taken_over), timeout)) {}

HandoverServer::~HandoverServer() {
  stop();
}

bool HandoverServer::start(std::string& error) {
  return impl_->start(error);
}

void HandoverServer::stop() {
  impl_->closeListening(nullptr);
}

const std::string& HandoverServer::path() const {
  return impl_->path_;
}

// ---------------------------------------------------------------------------------------------
// New process side.

namespace {

using Clock = std::chrono::steady_clock;

// Waits until `fd` is readable or the deadline passes. False with `error` on timeout.
bool waitReadable(int fd, Clock::time_point deadline, std::string& error) {
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      error = "the old process did not answer in time";
      return false;
    }
    pollfd p{fd, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) {
      error = "poll: " + errnoText(errno);
      return false;
    }
  }
}

// One message with the descriptors it carried (owned). `n` < 0: errno in `err`.
struct Received {
  ssize_t n = 0;
  int err = 0;
  int flags = 0;
  std::vector<net::Fd> fds;
};

Received receive(int fd, char* buf, size_t size, int flags) {
  Received r;
  iovec iov{buf, size};
  // Room for a few descriptors, so a message carrying more than one is seen and each is
  // closed here; what does not fit the kernel releases (MSG_CTRUNC).
  alignas(cmsghdr) std::array<char, CMSG_SPACE(8 * sizeof(int))> control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  do {
    r.n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | flags);
  } while (r.n < 0 && errno == EINTR);
  if (r.n < 0) {
    r.err = errno;
    return r;
  }
  r.flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received = -1;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      r.fds.emplace_back(received);
    }
  }
  return r;
}

}  // namespace

std::optional<HandoverClient> HandoverClient::connect(const std::string& path,
                                                      std::chrono::milliseconds timeout,
                                                      std::string& error) {
  const auto deadline = Clock::now() + timeout;
  const auto fail = [&](const std::string& why) {
    error = fmt::format("upgrade from {}: {}", path, why);
    return std::nullopt;
  };
  sockaddr_un addr{};
  std::string why;
  if (!fillAddress(path, addr, why)) return fail(why);
  HandoverClient client;
  client.timeout_ = timeout;
  client.socket_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  const int fd = client.socket_.get();
  if (fd < 0) return fail("socket: " + errnoText(errno));
  // A Unix connect blocks only while the listener's backlog is full; bound it by the timeout.
  const auto ms = std::max<long long>(1, timeout.count());
  timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int e = errno;
    if (e == ENOENT)
      return fail("no such socket (is the old process running with --upgrade-socket?)");
    if (e == ECONNREFUSED) return fail("nothing answers on it (a stale socket)");
    if (e == EAGAIN || e == EINPROGRESS) return fail("the old process did not accept in time");
    return fail("connect: " + errnoText(e));
  }
  const auto cred = peerCredentials(fd);
  if (!cred) return fail("SO_PEERCRED: " + errnoText(errno));
  // Root takes sockets from any user: the old process commonly runs as --user already.
  if (::geteuid() != 0 && !trustedUid(cred->uid))
    return fail(
        fmt::format("served by pid {} as uid {}: not our uid nor root", cred->pid, cred->uid));
  client.peer_pid_ = cred->pid;

  std::string hello(kMagic.begin(), kMagic.end());
  putU32(hello, kVersion);
  if (::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()))
    return fail("sending the hello: " + errnoText(errno));

  std::array<char, 2 + kMaxHandoverKey + 1> buf{};
  if (!waitReadable(fd, deadline, why)) return fail(why);
  auto header = receive(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (header.n < 0 && header.err != ECONNRESET)
    return fail("receiving the header: " + errnoText(header.err));
  if (header.n <= 0)  // reset: it closed with our hello unread (it refused us)
    return fail(
        fmt::format("pid {} closed the connection without a header (see its log)", cred->pid));
  if (static_cast<size_t>(header.n) != kHeaderSize || !header.fds.empty() ||
      (header.flags & MSG_TRUNC) != 0 || std::memcmp(buf.data(), kMagic.data(), kMagic.size()) != 0)
    return fail("not a handover header (is another program serving this socket?)");
  const uint32_t version = getU32(buf.data() + 8);
  if (version != kVersion)
    return fail(fmt::format("protocol version {}, we speak {}", version, kVersion));
  const uint32_t count = getU32(buf.data() + 12);
  if (count > kMaxListeners)
    return fail(fmt::format("announces {} listeners, more than {}", count, kMaxListeners));

  for (uint32_t i = 0; i < count; ++i) {
    if (!waitReadable(fd, deadline, why))
      return fail(fmt::format("listener {} of {}: {}", i + 1, count, why));
    auto rec = receive(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    const auto where = fmt::format("listener {} of {}", i + 1, count);
    if (rec.n < 0) return fail(where + ": " + errnoText(rec.err));
    if (rec.n == 0) return fail(where + ": the old process closed the connection");
    if ((rec.flags & MSG_TRUNC) != 0 || rec.n < 2) return fail(where + ": malformed record");
    const size_t key_size = (static_cast<size_t>(static_cast<unsigned char>(buf[0])) << 8) |
                            static_cast<unsigned char>(buf[1]);
    if (key_size > kMaxHandoverKey || key_size + 2 != static_cast<size_t>(rec.n))
      return fail(where + ": malformed record");
    std::string key(buf.data() + 2, key_size);
    if ((rec.flags & MSG_CTRUNC) != 0 || rec.fds.size() > 1)
      return fail(fmt::format("{} ({}): carries more than one descriptor", where, printable(key)));
    if (rec.fds.empty())
      return fail(fmt::format("{} ({}): carries no descriptor", where, printable(key)));
    const auto bad = notAListener(rec.fds[0].get());
    if (!bad.empty()) return fail(fmt::format("{} ({}): {}", where, printable(key), bad));
    client.keys_.push_back(std::move(key));
    client.fds_.push_back(std::move(rec.fds[0]));
  }
  // Nothing may follow the announced records before our answer.
  auto extra = receive(fd, buf.data(), buf.size(), MSG_DONTWAIT);
  if (extra.n > 0) return fail(fmt::format("more listeners than the {} announced", count));
  return client;
}

HandoverClient::~HandoverClient() = default;

std::vector<HandedListener> HandoverClient::listeners() {
  std::vector<HandedListener> out;
  out.reserve(fds_.size());
  for (size_t i = 0; i < fds_.size(); ++i) out.push_back({keys_[i], fds_[i].release()});
  fds_.clear();
  keys_.clear();
  return out;
}

bool HandoverClient::confirmServing(std::string& error) {
  if (!socket_.valid()) {
    error = "upgrade: not connected to the old process";
    return false;
  }
  const int fd = socket_.get();
  const auto fail = [&](const std::string& why) {
    error = fmt::format("upgrade: pid {}: {}", peer_pid_, why);
    socket_.reset();
    return false;
  };
  if (::send(fd, &kServing, 1, MSG_NOSIGNAL) != 1) {
    if (errno == EPIPE || errno == ECONNRESET)
      return fail("closed the connection before acknowledging (see its log)");
    return fail("telling it we serve: " + errnoText(errno));
  }
  std::string why;
  if (!waitReadable(fd, Clock::now() + timeout_, why)) return fail(why);
  char reply = 0;
  auto r = receive(fd, &reply, 1, MSG_DONTWAIT);
  if (r.n < 0) return fail("waiting for its acknowledgement: " + errnoText(r.err));
  if (r.n == 0) return fail("closed the connection before acknowledging (see its log)");
  if (r.n != 1 || reply != kDone || !r.fds.empty() || (r.flags & MSG_TRUNC) != 0)
    return fail("answered with something else than its acknowledgement");
  socket_.reset();
  return true;
}

}  // namespace edge::app
