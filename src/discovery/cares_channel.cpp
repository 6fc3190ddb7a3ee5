#include "discovery/cares_channel.h"

#include <arpa/nameser.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "discovery/dns_wire.h"

namespace edge::discovery {
namespace {

void trampoline(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<CaresChannel::Callback> done(static_cast<CaresChannel::Callback*>(arg));
  std::span<const uint8_t> reply;
  if (abuf != nullptr && alen > 0) reply = {abuf, static_cast<size_t>(alen)};
  (*done)(status, reply);
}

ares_socket_t openSocket(int family, int type, int protocol, void* /*self*/) {
  return ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int connectSocket(ares_socket_t fd, const sockaddr* to, ares_socklen_t length, void* /*self*/) {
  return ::connect(fd, to, length);
}

ares_ssize_t sendVector(ares_socket_t fd, const iovec* vector, int count, void* /*self*/) {
  return ::writev(fd, vector, count);
}

}  // namespace

ares_ssize_t CaresChannel::recvFrom(ares_socket_t fd, void* data, size_t length, int flags,
                                    sockaddr* from, ares_socklen_t* from_length, void* self) {
  const ares_ssize_t n = ::recvfrom(fd, data, length, flags, from, from_length);
  if (n > 0) {
    const std::span<const uint8_t> bytes(static_cast<const uint8_t*>(data), static_cast<size_t>(n));
    // c-ares reads UDP with an address and TCP without one (in pieces: length, then message).
    auto* channel = static_cast<CaresChannel*>(self);
    if (from != nullptr) {
      channel->noteReply(bytes);
    } else {
      channel->noteTcpBytes(fd, bytes);
    }
  }
  return n;
}

int CaresChannel::closeSocket(ares_socket_t fd, void* self) {
  static_cast<CaresChannel*>(self)->tcp_streams_.erase(fd);
  return ::close(fd);
}

void CaresChannel::noteReply(std::span<const uint8_t> message) {
  if (message.size() < 12) return;
  const int rcode = message[3] & 0x0F;
  if (rcode != ns_r_servfail && rcode != ns_r_notimpl && rcode != ns_r_refused) return;
  if (auto question = readQuestion(message)) rcodes_[{question->name, question->type}] = rcode;
}

void CaresChannel::noteTcpBytes(int fd, std::span<const uint8_t> bytes) {
  auto& stream = tcp_streams_[fd];
  stream.insert(stream.end(), bytes.begin(), bytes.end());
  while (stream.size() >= 2) {
    const size_t length = (size_t{stream[0]} << 8) | stream[1];
    if (stream.size() < 2 + length) return;
    noteReply(std::span<const uint8_t>(stream).subspan(2, length));
    stream.erase(stream.begin(), stream.begin() + 2 + static_cast<std::ptrdiff_t>(length));
  }
}

int statusOfRcode(int rcode) {
  switch (rcode) {
    case ns_r_noerror:
      return ARES_SUCCESS;
    case ns_r_formerr:
      return ARES_EFORMERR;
    case ns_r_servfail:
      return ARES_ESERVFAIL;
    case ns_r_nxdomain:
      return ARES_ENOTFOUND;
    case ns_r_notimpl:
      return ARES_ENOTIMP;
    case ns_r_refused:
      return ARES_EREFUSED;
    default:
      return ARES_EBADRESP;
  }
}

std::unique_ptr<CaresChannel> CaresChannel::create(const std::vector<std::string>& servers,
                                                   std::string& error) {
  ares_options options{};
  options.timeout = 1500;  // ms per try
  options.tries = 2;
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  ares_channel channel = nullptr;
  if (int rc = ares_init_options(&channel, &options, mask); rc != ARES_SUCCESS) {
    error = std::string("c-ares initialisation failed: ") + ares_strerror(rc);
    return nullptr;
  }
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) csv += (csv.empty() ? "" : ",") + s;
    if (int rc = ares_set_servers_ports_csv(channel, csv.c_str()); rc != ARES_SUCCESS) {
      error = "invalid DNS servers '" + csv + "': " + ares_strerror(rc);
      ares_destroy(channel);
      return nullptr;
    }
  }
  std::unique_ptr<CaresChannel> self(new CaresChannel(channel));
  static const ares_socket_functions functions = {openSocket, closeSocket, connectSocket, recvFrom,
                                                  sendVector};
  ares_set_socket_functions(channel, &functions, self.get());
  return self;
}

CaresChannel::~CaresChannel() {
  // Pending queries complete with ARES_EDESTRUCTION here; their callbacks must not touch
  // objects already destroyed (owners destroy the channel before the lookups it serves).
  ares_destroy(channel_);
}

void CaresChannel::query(const std::string& name, int type, Callback done) {
  const auto wire_name = caresQueryName(name);
  if (!wire_name) {
    done(ARES_EBADNAME, {});
    return;
  }
  std::pair<std::string, int> key{normalizeName(name), type};
  rcodes_.erase(key);  // an error code seen for an earlier query of this question is stale
  auto* arg = new Callback([this, key = std::move(key), done = std::move(done)](
                               int status, std::span<const uint8_t> reply) {
    if (status == ARES_ECONNREFUSED) {
      if (auto it = rcodes_.find(key); it != rcodes_.end()) status = statusOfRcode(it->second);
    }
    if (status != ARES_EDESTRUCTION) rcodes_.erase(key);
    done(status, reply);
  });
  ares_query(channel_, wire_name->c_str(), ns_c_in, type, trampoline, arg);
}

void CaresChannel::waitAndProcess(std::chrono::milliseconds max_wait, int wake_fd) {
  ares_socket_t socks[ARES_GETSOCK_MAXNUM];
  const int bits = ares_getsock(channel_, socks, ARES_GETSOCK_MAXNUM);
  pollfd fds[ARES_GETSOCK_MAXNUM + 1];
  nfds_t n = 0;
  fds[n++] = {wake_fd, POLLIN, 0};
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
    short events = 0;
    if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
    if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
    if (events != 0) fds[n++] = {socks[i], events, 0};
  }

  timeval max_tv{static_cast<time_t>(max_wait.count() / 1000),
                 static_cast<suseconds_t>((max_wait.count() % 1000) * 1000)};
  timeval tv{};
  const timeval* t = ares_timeout(channel_, &max_tv, &tv);
  const long long wait_ms = std::max<long long>(0, t->tv_sec * 1000LL + (t->tv_usec + 999) / 1000);
  const int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(wait_ms, 60'000)));

  if (ready > 0) {
    for (nfds_t i = 1; i < n; ++i) {
      const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool writable = (fds[i].revents & POLLOUT) != 0;
      if (!readable && !writable) continue;
      ares_process_fd(channel_, readable ? fds[i].fd : ARES_SOCKET_BAD,
                      writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // expire timed-out queries
}

std::string caresStatusName(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return "ok";
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ENODATA:
      return "no data";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_ENOTIMP:
      return "NOTIMP";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_ECONNREFUSED:
      return "connection refused";
    case ARES_EBADRESP:
      return "malformed reply";
    case ARES_EBADNAME:
      return "name c-ares cannot query";
    default:
      return ares_strerror(status);
  }
}

}  // namespace edge::discovery
