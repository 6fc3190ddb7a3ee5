#include "app/worker.h"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "proxy/session.h"

namespace edge::app {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace

Worker::Worker(const config::Config& config, const discovery::TargetBoard& board,
               log::AccessLog::Shard& access_log, asio::ip::tcp::acceptor acceptor)
    : acceptor_(io_), ctx_(io_, config, board, access_log) {
  // The listener was opened on a set-up io_context; move its descriptor onto ours.
  const auto protocol = acceptor.local_endpoint().protocol();
  acceptor_.assign(protocol, acceptor.release());
  if (config.pipe_size && ctx_.pipes.pipeSize() < config.pipe_size) {
    spdlog::warn("--pipe-size {}: the kernel gave {} bytes (fs.pipe-max-size?)", config.pipe_size,
                 ctx_.pipes.pipeSize());
  }
}

void Worker::start() {
  ctx_.on_session_closed = [this] {
    if (ctx_.draining && ctx_.sessions.size() == 0) drained();
  };
  asio::co_spawn(io_, acceptLoop(), asio::detached);
}

asio::awaitable<void> Worker::acceptLoop() {
  asio::steady_timer pause(io_);
  unsigned consecutive_errors = 0;
  for (;;) {
    net::Endpoint peer;
    // Accepted straight into the session's socket type (io_context executor).
    auto [ec, socket] = co_await acceptor_.async_accept(io_, peer, kNoThrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors or memory: log, pause briefly instead of spinning, keep serving.
      if (consecutive_errors++ % 100 == 0) spdlog::error("accept failed: {}", ec.message());
      pause.expires_after(std::chrono::milliseconds(50));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    consecutive_errors = 0;
    proxy::Session::start(ctx_, std::move(socket), peer);
  }
}

void Worker::drained() {
  drain_timer_.cancel();
  if (auto done = std::exchange(on_drained_, nullptr)) done();
}

void Worker::drain(std::function<void()> on_drained) {
  if (ctx_.draining) return;
  ctx_.draining = true;
  on_drained_ = std::move(on_drained);
  std::error_code ignored;
  acceptor_.close(ignored);
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
