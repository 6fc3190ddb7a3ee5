#pragma once
// One event loop: accepts on its listening socket and runs every session it accepted, to the
// end, on its own thread. Owns its io_context, acceptor, sessions and health state.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <optional>

#include "proxy/acceptor.h"
#include "proxy/idle_sweep.h"
#include "proxy/worker_context.h"

namespace edge::app {

class Worker {
 public:
  Worker(const config::Config& config, const discovery::TargetBoard& board,
         log::AccessLog::Shard& access_log, proxy::ConnectionLimits& limits,
         asio::ip::tcp::acceptor acceptor);

  asio::io_context& io() { return io_; }
  // Capacity of the pipes this worker splices through (0: copies only).
  size_t pipeSize() const { return ctx_.pipes.pipeSize(); }
  // Starts accepting; run io() to serve.
  void start();
  // How a drain went: connections open when it began that ended by themselves, and those
  // closed by the drain timeout or a second signal.
  struct DrainCount {
    size_t ended = 0;
    size_t cut = 0;
  };
  // Stops accepting; open connections get `drain_timeout` (nullopt: for ever) to finish, then
  // are closed. `on_drained` runs once the last connection ended. Worker thread only.
  void drain(std::function<void(DrainCount)> on_drained);
  // Closes every open connection now. Worker thread only.
  void closeAll();

 private:
  void accepted(net::Socket socket, const net::Endpoint& peer);
  // Closes a client at once, with close=limit and `why` in the access log.
  void refuse(net::Socket& socket, const net::Endpoint& peer, std::string_view why);
  void drained();

  asio::io_context io_{1};
  proxy::Acceptor acceptor_;
  proxy::WorkerContext ctx_;
  std::optional<proxy::IdleSweep> idle_sweep_;  // only with --idle-timeout
  asio::steady_timer drain_timer_{io_};
  std::function<void(DrainCount)> on_drained_;
  size_t open_at_drain_ = 0;
  size_t cut_ = 0;
  bool closed_all_ = false;
};

}  // namespace edge::app
