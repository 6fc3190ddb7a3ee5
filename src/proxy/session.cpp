#include "proxy/session.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "balance/picker.h"
#include "net/socket_options.h"

namespace edge::proxy {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

bool isReset(CloseReason r) {
  return r == CloseReason::ClientReset || r == CloseReason::TargetReset;
}

}  // namespace

void Session::start(WorkerContext& ctx, net::Socket client, net::Endpoint client_endpoint) {
  auto* session = new Session(ctx, std::move(client), client_endpoint);
  asio::co_spawn(ctx.io, session->run(), asio::detached);
}

Session::Session(WorkerContext& ctx, net::Socket client, net::Endpoint client_endpoint)
    : ctx_(ctx),
      client_(std::move(client)),
      target_(ctx.io),
      up_(ctx.pump_pools, client_, target_, Side::Client, *this),
      down_(ctx.pump_pools, target_, client_, Side::Target, *this),
      client_endpoint_(client_endpoint),
      started_(Clock::now()),
      last_activity_(started_) {
  up_.pairWith(down_);
  down_.pairWith(up_);
  ctx_.sessions.push(this);
}

Session::~Session() {
  ctx_.sessions.remove(this);
  if (ctx_.on_session_closed) ctx_.on_session_closed();
}

asio::awaitable<void> Session::run() {
  snapshot_ = ctx_.board.load();
  if (snapshot_->empty()) {
    reason_ = CloseReason::NoTargets;
    co_return end();
  }
  // Not `if (!co_await connect())`: GCC 12 miscompiles co_await inside that condition (SIGILL).
  const bool connected = co_await connect();
  if (!connected) {
    reason_ = merge(reason_, CloseReason::ConnectFailed);
    co_return end();
  }
  if (aborted_) co_return end();  // closed (shutdown) while the connect completed
  forward();                      // from here on the pumps' callbacks carry the session
}

asio::awaitable<bool> Session::connect() {
  // Endpoints already tried by this connection; never more than 1 + retries (≤ 11).
  std::array<net::Endpoint, 11> tried;
  size_t tried_count = 0;
  auto untried = [&](const net::Endpoint& ep) {
    return std::find(tried.begin(), tried.begin() + tried_count, ep) == tried.begin() + tried_count;
  };
  asio::steady_timer timer(client_.get_executor());
  const auto& targets = snapshot_->targets;

  for (int attempt = 0; attempt <= ctx_.config.connect_retries && !aborted_; ++attempt) {
    const auto now = Clock::now();
    auto pick = balance::pickTarget(
        targets,
        [&](const net::Endpoint& ep) { return untried(ep) && !ctx_.backoff.ejected(ep, now); },
        ctx_.rng);
    if (!pick) {  // every untried target is backing off: trying one beats refusing the client
      pick = balance::pickTarget(targets, untried, ctx_.rng);
    }
    if (!pick) break;
    tried[tried_count++] = pick->endpoint;
    ++attempts_;
    target_endpoint_ = pick->endpoint;
    target_name_ = pick->target->name;

    std::error_code ec;
    if (!openTarget(pick->endpoint, ec)) {
      error_ = "socket: " + ec.message();
      co_return false;
    }
    // The timeout cancels the connect; a stale expiry (an earlier attempt's) is ignored.
    timer.expires_after(ctx_.config.connect_timeout);
    timed_out_ = false;
    connecting_ = true;
    timer.async_wait([this, attempt = attempts_](std::error_code wait_ec) {
      if (wait_ec || !connecting_ || attempt != attempts_) return;
      timed_out_ = true;
      std::error_code ignored;
      target_.cancel(ignored);
    });
    auto [connect_ec] = co_await target_.async_connect(pick->endpoint, kNoThrow);
    connecting_ = false;
    timer.cancel();
    if (!connect_ec) {
      ctx_.backoff.markHealthy(pick->endpoint);
      net::setNoDelay(target_.native_handle());
      net::setKeepAlive(target_.native_handle(), ctx_.config.keepalive);
      co_return true;
    }
    error_ = timed_out_ ? "connect timeout" : connect_ec.message();
    if (aborted_) break;
    ctx_.backoff.markFailed(pick->endpoint, Clock::now());
    spdlog::debug("connect to {} ({}) failed: {}", net::format(pick->endpoint), target_name_,
                  error_);
    std::error_code ignored;
    target_.close(ignored);
  }
  co_return false;
}

bool Session::openTarget(const net::Endpoint& endpoint, std::error_code& ec) {
  // Non-blocking from the start and owned by us alone: no ioctl, no epoll_ctl at close.
  const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          IPPROTO_TCP);
  if (fd < 0) {
    ec = std::error_code(errno, std::system_category());
    return false;
  }
  ec = net::adoptOwnedNonBlocking(target_, endpoint.protocol(), fd);
  return !ec;
}

void Session::forward() {
  const bool idle_limit = ctx_.config.idle_timeout.has_value();
  auto* activity = idle_limit ? &last_activity_ : nullptr;  // no clock reads when unused
  up_.start(activity);
  down_.start(activity);
  if (idle_limit) {
    idle_timer_ = std::make_unique<Timer>(ctx_.io);
    armIdleTimer();
  }
}

void Session::armIdleTimer() {
  idle_timer_->expires_at(last_activity_ + *ctx_.config.idle_timeout);
  idle_wait_pending_ = true;
  idle_timer_->async_wait([this](std::error_code ec) {
    idle_wait_pending_ = false;
    if (ended_) return end();  // both pumps ended while the timer was pending
    if (!ec && Clock::now() - last_activity_ >= *ctx_.config.idle_timeout) {
      abort(CloseReason::IdleTimeout, /*send_reset=*/false);  // the pumps end; then end()
      return;
    }
    armIdleTimer();
  });
}

void Session::pumpEnded(Pump& pump) {
  const PumpEnd& end_of_pump = pump.end();
  reason_ = merge(reason_, end_of_pump.reason);
  if (isReset(end_of_pump.reason)) {
    if (error_.empty() && end_of_pump.error) error_ = end_of_pump.error.message();
    abort(end_of_pump.reason, /*send_reset=*/true);
  }
  if (up_.running() || down_.running()) return;
  ended_ = true;
  if (idle_wait_pending_) {
    idle_timer_->cancel();  // its handler calls end(): it must run before the session goes
    return;
  }
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
    socket->close(ignored);
  }
}

void Session::end() {
  const auto now = Clock::now();
  log::AccessRecord record;
  record.end = std::chrono::system_clock::now();
  record.client = client_endpoint_;
  record.target = target_endpoint_;
  record.target_name = target_name_;
  record.bytes_to_target = up_.end().bytes;
  record.bytes_to_client = down_.end().bytes;
  record.duration = std::chrono::duration_cast<std::chrono::microseconds>(now - started_);
  record.reason = reason_;
  record.attempts = attempts_;
  record.error = error_;
  ctx_.access_log.write(record);
  std::error_code ignored;
  client_.close(ignored);
  target_.close(ignored);
  // Freed from a fresh handler: end() may run inside a pump's or the coroutine's call chain.
  asio::post(ctx_.io, [this] { delete this; });
}

}  // namespace edge::proxy
