#include "proxy/session.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "balance/picker.h"
#include "log/connection_id.h"
#include "net/socket_options.h"
#include "net/system_error.h"
#include "proxy_protocol/header.h"

namespace edge::proxy {
namespace {

using Clock = std::chrono::steady_clock;

// connect() on a non-blocking socket: 0 once connected, EINPROGRESS/EALREADY while the
// handshake runs, else why it failed. Asking again is how the kernel reports the outcome of
// a pending connect (and it clears the socket's error), so this serves both the first call and
// every later check: no poll() and getsockopt() as asio does.
int connectOnce(int fd, const net::Endpoint& endpoint) {
  for (;;) {
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) == 0) return 0;
    const int e = errno;
    if (e == EINTR) continue;  // the connect goes on; asking again reports where it is
    return e == EISCONN ? 0 : e;
  }
}

// A bound on re-picks after losing a probe race, so a pick cannot spin (the race is rare).
constexpr int kMaxLostProbes = 4;

bool connectPending(int e) {
  return e == EINPROGRESS || e == EALREADY;
}

}  // namespace

void Session::start(WorkerContext& ctx, std::shared_ptr<RouteContext> route, net::Socket client,
                    net::Endpoint client_endpoint, std::optional<net::Endpoint> destination) {
  auto* session = new Session(ctx, std::move(route), std::move(client), client_endpoint);
  if (destination && session->route_->settings.send_proxy != config::ProxyProtocol::Off) {
    session->proxy_destination_ = std::make_unique<const net::Endpoint>(*destination);
  }
  session->snapshot_ = session->route_->board.load();
  if (session->snapshot_->empty()) {
    session->reason_ = CloseReason::NoTargets;
    return session->end();
  }
  session->connectNext();
}

Session::Session(WorkerContext& ctx, std::shared_ptr<RouteContext> route, net::Socket client,
                 net::Endpoint client_endpoint)
    : ctx_(ctx),
      route_(std::move(route)),
      client_(std::move(client)),
      target_(ctx.io),
      up_(ctx.pump_pools, client_, target_, Side::Client, *this),
      down_(ctx.pump_pools, target_, client_, Side::Target, *this),
      connect_op_(*this),
      client_endpoint_(client_endpoint),
      id_(ctx.nextConnectionId()),
      started_(Clock::now()),
      quiet_since_(started_) {
  up_.pairWith(down_);
  down_.pairWith(up_);
  ctx_.sessions.pushBack(this);
}

Session::~Session() {
  if (counted_) route_->shared().active->closed(*target_endpoint_);
  ctx_.limits.release(client_endpoint_);
  route_->deadlines.remove(*this);
  ctx_.sessions.remove(this);
  if (ctx_.on_session_closed) ctx_.on_session_closed();
}

void Session::connectNext() {
  const auto& targets = snapshot_->targets;
  int lost_probes = 0;  // picks whose probe another connection claimed first
  // At most 1 + retries attempts, each to a target this connection has not tried yet.
  while (!aborted_ && attempts_ <= route_->settings.connect_retries) {
    const auto now = Clock::now();
    auto untried = [&](const net::Endpoint& ep) { return !alreadyFailed(ep); };
    const auto health = route_->health.view();  // one atomic load while nothing is ejected
    std::optional<balance::Pick> pick;
    if (lost_probes < kMaxLostProbes) {
      pick = route_->balancer.pick(
          targets, [&](const net::Endpoint& ep) { return untried(ep) && health.admits(ep, now); },
          client_endpoint_, ctx_.rng);
      if (pick && !health.claim(pick->endpoint, now)) {
        ++lost_probes;  // another connection is the probe: it is out for us, pick again
        continue;
      }
    }
    if (!pick) {  // every untried target is ejected: trying one beats refusing the client
      pick = route_->balancer.pick(targets, untried, client_endpoint_, ctx_.rng);
      if (pick) route_->health_table.failingOpen();
    }
    if (!pick) break;
    target_endpoint_ = pick->endpoint;
    picked_ = pick->target;

    std::error_code ec;
    if (!openTarget(pick->endpoint, ec)) {
      error_ = "socket: " + ec.message();
      // Out of descriptors (a --max-connections above what the descriptor limit allows): no
      // target can help, and the client learns it at once, as for any limit.
      if (ec.value() == EMFILE || ec.value() == ENFILE) {
        reason_ = merge(reason_, CloseReason::Limit);
        return end();
      }
      // A local failure (no IPv6 on this host), not the target's: the next address is tried
      // without charging the target or spending a retry.
      skipTarget(pick->endpoint);
      continue;
    }
    ++attempts_;
    target_counters_ = &route_->counters.target(pick->endpoint);
    target_counters_->attempts.add();
    switch (connectTo(pick->endpoint, ec)) {
      case ConnectStep::Connected:
        return connected(/*waited=*/false);
      case ConnectStep::Waiting:
        return;  // complete() or deadlinePassed() carries on
      case ConnectStep::Failed:
        attemptFailed(ec);
        break;
    }
  }
  reason_ = merge(reason_, CloseReason::ConnectFailed);
  end();
}

bool Session::openTarget(const net::Endpoint& endpoint, std::error_code& ec) {
  // Non-blocking from the start and owned by us alone: no ioctl, no epoll_ctl at close.
  const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          IPPROTO_TCP);
  if (fd < 0) {
    ec = net::systemError(errno);
    return false;
  }
  if ((ec = net::adoptOwnedNonBlocking(target_, endpoint.protocol(), fd))) return false;
  // Set before connecting, so the socket is ready for data the moment it connects.
  net::setNoDelay(fd);
  net::setReadQueueHint(fd);
  net::setKeepAlive(fd, route_->settings.keepalive);
  net::setUserTimeout(fd, route_->settings.user_timeout);  // dead peers: proxy/close_reason.h
  net::setUrgentInline(fd);  // urgent bytes stay in the stream (proxy/pump.h)
  return true;
}

Session::ConnectStep Session::connectTo(const net::Endpoint& endpoint, std::error_code& ec) {
  const int fd = target_.native_handle();
  int e = connectOnce(fd, endpoint);
  // To a nearby target (loopback, same host) the handshake has usually completed by the time
  // the first call returns: asking once more then saves a trip through the event loop.
  if (e == EINPROGRESS) e = connectOnce(fd, endpoint);
  if (e == 0) return ConnectStep::Connected;
  if (!connectPending(e)) {
    ec = net::systemError(e);
    return ConnectStep::Failed;
  }
  route_->deadlines.add(*this);
  connect_op_.start(ctx_.pump_pools.reactor, target_, net::ReactorOp::Kind::Write,
                    /*speculative=*/false);  // just asked: wait until the socket is writable
  return ConnectStep::Waiting;
}

net::ReactorOp::Attempt Session::attempt(net::ReactorOp&) {
  connect_errno_ = connectOnce(target_.native_handle(), *target_endpoint_);
  return connectPending(connect_errno_) ? Attempt::WouldBlock : Attempt::Done;
}

void Session::complete(net::ReactorOp&, const std::error_code& ec) {
  route_->deadlines.remove(*this);
  if (!ec && connect_errno_ == 0) return connected(/*waited=*/true);
  std::error_code failure = ec ? ec : net::systemError(connect_errno_);
  if (aborted_) {  // closed (shutdown) while connecting
    error_ = failure.message();
    reason_ = merge(reason_, CloseReason::ConnectFailed);
    return end();
  }
  attemptFailed(failure);
  connectNext();
}

void Session::deadlinePassed() {  // only while queued: while connect_op_ waits
  timed_out_ = true;
  std::error_code ignored;
  target_.cancel(ignored);  // the connect completes with operation_aborted
}

void Session::attemptFailed(const std::error_code& ec) {
  const auto failure = timed_out_ || ec.value() == ETIMEDOUT ? metrics::ConnectFailure::Timeout
                       : ec.value() == ECONNREFUSED          ? metrics::ConnectFailure::Refused
                                                             : metrics::ConnectFailure::Other;
  attemptFailed(failure, timed_out_ ? "connect timeout" : ec.message());
}

void Session::attemptFailed(metrics::ConnectFailure failure, std::string error) {
  target_counters_->failures[static_cast<size_t>(failure)].add();
  target_counters_ = nullptr;
  error_ = std::move(error);
  timed_out_ = false;
  const auto& endpoint = *target_endpoint_;
  route_->health_table.connectFailed(endpoint, targetName(), error_, Clock::now());
  spdlog::debug("connect to {} ({}) failed: {} id={}", net::format(endpoint), targetName(), error_,
                log::ConnectionIdText(id_).view());
  skipTarget(endpoint);
  std::error_code ignored;
  target_.close(ignored);
}

void Session::skipTarget(const net::Endpoint& endpoint) {
  if (!failed_) failed_ = std::make_unique<std::vector<net::Endpoint>>();
  failed_->push_back(endpoint);
}

bool Session::alreadyFailed(const net::Endpoint& endpoint) const {
  return failed_ && std::find(failed_->begin(), failed_->end(), endpoint) != failed_->end();
}

void Session::connected(bool waited) {
  if (route_->settings.send_proxy != config::ProxyProtocol::Off && !aborted_ &&
      !sendProxyHeader()) {
    return connectNext();  // the next target's connection gets a header of its own
  }
  route_->health.connectSucceeded(*target_endpoint_, targetName());
  const auto now = Clock::now();  // once per connection: connect time, idleness, progress
  route_->counters.connect_seconds.observe(
      std::chrono::duration_cast<std::chrono::microseconds>(now - started_));
  target_counters_->opened.add();
  opened_ = true;
  if (route_->settings.balance == balance::Policy::LeastConnections) {
    route_->shared().active->opened(*target_endpoint_);
    counted_ = true;  // closed() in the destructor
  }
  failed_.reset();
  if (aborted_) return end();  // closed (shutdown) as the connect completed
  logOpen(now);
  // Not waited: the target socket was opened within this handler, so epoll has not polled it
  // yet and still announces whatever it received.
  forward(/*target_unread=*/!waited, now);  // from here on the pumps' callbacks carry the session
}

bool Session::sendProxyHeader() {
  net::Endpoint destination;
  if (proxy_destination_) {
    destination = *proxy_destination_;
  } else {
    std::error_code ec;
    destination = client_.local_endpoint(ec);
    if (ec) {  // the client socket is broken (not the target's fault): the connection ends
      error_ = "getsockname: " + ec.message();
      abort(CloseReason::ClientReset, /*send_reset=*/false);
      return true;  // connected() sees aborted_ and ends the session
    }
  }
  const std::string header = route_->settings.send_proxy == config::ProxyProtocol::V1
                                 ? proxy_protocol::writeV1(client_endpoint_, destination)
                                 : proxy_protocol::writeV2(client_endpoint_, destination,
                                                           log::ConnectionIdText(id_).view());
  // A fresh connection's send buffer is empty, so the whole header (at most a few hundred
  // bytes) goes at once, as the spec wants; anything else fails this target like a connect.
  ssize_t sent;
  do {
    sent =
        ::send(target_.native_handle(), header.data(), header.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent == static_cast<ssize_t>(header.size())) return true;
  const int e = errno;
  attemptFailed(metrics::ConnectFailure::Other,
                sent < 0 ? std::string("sending the PROXY header: ") + std::strerror(e)
                         : "sending the PROXY header: only " + std::to_string(sent) + " of " +
                               std::to_string(header.size()) + " bytes taken");
  return false;
}

void Session::forward(bool target_unread, Clock::time_point now) {
  quiet_since_ = now;  // the time spent connecting is not idleness
  if (const auto& interval = ctx_.access_log.settings().progress_interval) {
    next_progress_ = started_ + *interval;
  }
  up_.start();
  down_.start(target_unread);
}

void Session::sweep(Clock::time_point now) {
  if (aborted_ || !(up_.running() || down_.running())) return;  // connecting, or ending
  const uint64_t moved = up_.end().bytes + down_.end().bytes;
  if (moved != bytes_seen_) {  // bytes moved since the last sweep: quiet from now on at most
    bytes_seen_ = moved;
    quiet_since_ = now;
  } else if (const auto& timeout = route_->settings.idle_timeout;
             timeout && now - quiet_since_ >= *timeout) {
    return abort(CloseReason::IdleTimeout, /*send_reset=*/false);  // the pumps end; then end()
  }
  if (now >= next_progress_ && ctx_.access_log.wants(log::AccessEvent::Progress)) {
    logProgress(now);
    const auto interval = *ctx_.access_log.settings().progress_interval;
    next_progress_ += interval;
    if (next_progress_ <= now) next_progress_ = now + interval;  // the worker was held up
  }
}

log::AccessRecord Session::record(log::AccessEvent event) const {
  log::AccessRecord r;
  r.event = event;
  r.id = id_;
  r.ts = std::chrono::system_clock::now();
  r.route = route_->settings.name;
  r.client = client_endpoint_;
  r.target = target_endpoint_;
  r.target_name = targetName();
  r.attempts = attempts_;
  return r;
}

void Session::logOpen(Clock::time_point now) {
  if (!ctx_.access_log.wants(log::AccessEvent::Open)) return;
  auto r = record(log::AccessEvent::Open);
  if (picked_ && route_->settings.type == config::RecordType::Srv) {
    r.priority = picked_->priority;
    r.weight = picked_->weight;
  }
  r.connect_time = std::chrono::duration_cast<std::chrono::microseconds>(now - started_);
  ctx_.access_log.write(r);
}

void Session::logProgress(Clock::time_point now) {
  auto r = record(log::AccessEvent::Progress);
  r.bytes_to_target = up_.end().bytes;
  r.bytes_to_client = down_.end().bytes;
  r.duration = std::chrono::duration_cast<std::chrono::microseconds>(now - started_);
  ctx_.access_log.write(r);
}

ConnectionInfo Session::info(Clock::time_point now) const {
  ConnectionInfo i;
  i.id = id_;
  i.route = route_->settings.name;
  i.client = client_endpoint_;
  i.target = target_endpoint_;
  i.target_name = std::string(targetName());
  i.bytes_to_target = up_.end().bytes;
  i.bytes_to_client = down_.end().bytes;
  using std::chrono::milliseconds;
  i.age = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(now - started_));
  const bool moved_since_sweep = i.bytes_to_target + i.bytes_to_client != bytes_seen_;
  i.idle =
      moved_since_sweep
          ? milliseconds(0)
          : std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(now - quiet_since_));
  return i;
}

void Session::pumpEnded(Pump& pump) {
  const PumpEnd& end_of_pump = pump.end();
  reason_ = merge(reason_, end_of_pump.reason);
  if (resetsOtherSide(end_of_pump.reason)) {
    if (error_.empty() && end_of_pump.error) error_ = end_of_pump.error.message();
    abort(end_of_pump.reason, /*send_reset=*/true);
  }
  if (up_.running() || down_.running()) return;
  end();
}

void Session::abort(CloseReason reason, bool send_reset) {
  reason_ = merge(reason_, reason);
  if (aborted_) return;
  aborted_ = true;
  std::error_code ignored;
  for (auto* socket : {&client_, &target_}) {
    if (!socket->is_open()) continue;
    if (send_reset) net::setResetOnClose(socket->native_handle());
    socket->close(ignored);  // a pending connect or pump completes with operation_aborted
  }
}

void Session::end() {
  const auto now = Clock::now();
  const auto duration = std::chrono::duration_cast<std::chrono::microseconds>(now - started_);
  if (ctx_.access_log.wants(log::AccessEvent::Close)) {
    auto r = record(log::AccessEvent::Close);
    r.bytes_to_target = up_.end().bytes;
    r.bytes_to_client = down_.end().bytes;
    r.duration = duration;
    r.reason = reason_;
    r.error = error_;
    ctx_.access_log.write(r);
  }
  auto& counters = route_->counters;
  counters.closed[static_cast<size_t>(reason_)].add();
  counters.bytes_to_target.add(up_.end().bytes);
  counters.bytes_to_client.add(down_.end().bytes);
  counters.connection_seconds.observe(duration);
  if (opened_) target_counters_->closed.add();
  std::error_code ignored;
  client_.close(ignored);
  target_.close(ignored);
  // Freed from a fresh handler: end() may run inside a pump's or the connect's call chain.
  asio::post(ctx_.io, [this] { delete this; });
}

}  // namespace edge::proxy
