#include "discovery/cares_channel.h"

#include <arpa/nameser.h>
#include <poll.h>

#include <algorithm>

namespace edge::discovery {
namespace {

void trampoline(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<CaresChannel::Callback> done(static_cast<CaresChannel::Callback*>(arg));
  std::span<const uint8_t> reply;
  if (abuf != nullptr && alen > 0) reply = {abuf, static_cast<size_t>(alen)};
  (*done)(status, reply);
}

}  // namespace

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
  return std::unique_ptr<CaresChannel>(new CaresChannel(channel));
}

CaresChannel::~CaresChannel() {
  // Pending queries complete with ARES_EDESTRUCTION here; their callbacks must not touch
  // objects already destroyed (owners destroy the channel before the lookups it serves).
  ares_destroy(channel_);
}

void CaresChannel::query(const std::string& name, int type, Callback done) {
  auto* arg = new Callback(std::move(done));
  ares_query(channel_, name.c_str(), ns_c_in, type, trampoline, arg);
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
    case ARES_ECONNREFUSED:
      return "connection refused";
    case ARES_EBADRESP:
      return "malformed reply";
    default:
      return ares_strerror(status);
  }
}

}  // namespace edge::discovery
