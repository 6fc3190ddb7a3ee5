#include "app/worker.h"

#include <spdlog/spdlog.h>

#include "proxy/session.h"

namespace edge::app {
Worker::Worker(const config::Config& config, const discovery::TargetBoard& board,
               health::HealthTable& health, log::AccessLog::Shard& access_log,
               asio::ip::tcp::acceptor acceptor)
    : acceptor_(io_, std::move(acceptor),
                [this](net::Socket socket, const net::Endpoint& peer) {
                  proxy::Session::start(ctx_, std::move(socket), peer);
                }),
      ctx_(io_, config, board, health, access_log) {
  if (config.idle_timeout) idle_sweep_.emplace(ctx_, *config.idle_timeout);
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
  if (auto done = std::exchange(on_drained_, nullptr)) done();
}

void Worker::drain(std::function<void()> on_drained) {
  if (ctx_.draining) return;
  ctx_.draining = true;
  on_drained_ = std::move(on_drained);
  acceptor_.close();
  if (ctx_.sessions.size() == 0) return drained();
  spdlog::info("draining {} open connection(s) for up to {} ms", ctx_.sessions.size(),
               ctx_.config.drain_timeout.count());
  drain_timer_.expires_after(ctx_.config.drain_timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (!ec) closeAll();
  });
}

void Worker::closeAll() {
  drain_timer_.cancel();
  ctx_.sessions.forEach(
      [](proxy::Session& s) { s.abort(proxy::CloseReason::Shutdown, /*send_reset=*/false); });
}

}  // namespace edge::app
