#include "app/worker.h"

#include <spdlog/spdlog.h>

#include "proxy/session.h"

namespace edge::app {
Worker::Worker(const config::Config& config, const discovery::TargetBoard& board,
               health::HealthTable& health, log::AccessLog::Shard& access_log,
               proxy::ConnectionLimits& limits, asio::ip::tcp::acceptor acceptor)
    : acceptor_(
          io_, std::move(acceptor),
          [this](net::Socket socket, const net::Endpoint& peer) {
            accepted(std::move(socket), peer);
          },
          [this](net::Socket socket, const net::Endpoint& peer) {
            refuse(socket, peer, "out of descriptors");
          }),
      ctx_(io_, config, board, health, access_log, limits) {
  if (ctx_.route.idle_timeout) idle_sweep_.emplace(ctx_, *ctx_.route.idle_timeout);
}

void Worker::accepted(net::Socket socket, const net::Endpoint& peer) {
  switch (ctx_.limits.admit(peer)) {
    case proxy::ConnectionLimits::Verdict::Admitted:
      return proxy::Session::start(ctx_, std::move(socket), peer);
    case proxy::ConnectionLimits::Verdict::TotalLimit:
      return refuse(socket, peer, "--max-connections reached");
    case proxy::ConnectionLimits::Verdict::SourceLimit:
      return refuse(socket, peer, "--max-connections-per-source reached");
  }
}

void Worker::refuse(net::Socket& socket, const net::Endpoint& peer, std::string_view why) {
  log::AccessRecord record;
  record.end = std::chrono::system_clock::now();
  record.client = peer;
  record.reason = proxy::CloseReason::Limit;
  record.error = why;
  ctx_.access_log.write(record);
  std::error_code ignored;
  socket.close(ignored);
}

void Worker::start() {
  ctx_.on_session_closed = [this] {
    if (ctx_.draining && ctx_.sessions.size() == 0) drained();
  };
  acceptor_.start();
  if (idle_sweep_) idle_sweep_->start();
}

void Worker::drained() {
  drain_timer_.cancel();
  // Nothing may keep the event loop running now: no sweep, no connect deadline.
  if (idle_sweep_) idle_sweep_->stop();
  ctx_.deadlines.stop();
  const size_t cut = std::min(cut_, open_at_drain_);
  if (auto done = std::exchange(on_drained_, nullptr)) done({open_at_drain_ - cut, cut});
}

void Worker::drain(std::function<void(DrainCount)> on_drained) {
  if (ctx_.draining) return;
  ctx_.draining = true;
  on_drained_ = std::move(on_drained);
  acceptor_.close();
  open_at_drain_ = ctx_.sessions.size();
  if (open_at_drain_ == 0) return drained();
  if (!ctx_.config.drain_timeout) return;  // off: wait for ever (or a second signal)
  drain_timer_.expires_after(*ctx_.config.drain_timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (!ec) closeAll();
  });
}

void Worker::closeAll() {
  drain_timer_.cancel();
  if (!closed_all_) {  // a second call (timeout, then a signal) cuts nothing new
    closed_all_ = true;
    cut_ = ctx_.sessions.size();
  }
  ctx_.sessions.forEach(
      [](proxy::Session& s) { s.abort(proxy::CloseReason::Shutdown, /*send_reset=*/false); });
}

}  // namespace edge::app
