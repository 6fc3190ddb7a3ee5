#include "app/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <csignal>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "app/worker.h"
#include "discovery/discovery.h"
#include "health/checker.h"
#include "health/health_table.h"
#include "log/access_log.h"
#include "net/endpoint.h"
#include "proxy/listener.h"

namespace edge::app {
namespace {

// Every connection costs two descriptors; the default soft limit (1024) is far too low.
void raiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("could not raise RLIMIT_NOFILE");
  }
}

unsigned workerCount(const config::Config& config) {
  if (config.workers > 0) return config.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Signals are handled on the main thread's io_context from the start, so a signal during the
// first DNS wait stops the process cleanly instead of killing it with the default action.
// Before serving: the first SIGTERM/SIGINT stops at once (no connection was served). While
// serving: the first drains every worker, a second one closes every connection at once.
// Main thread only; workers are told through post().
class Lifecycle {
 public:
  Lifecycle(asio::io_context& main_io, std::vector<std::unique_ptr<Worker>>& workers)
      : main_io_(main_io), signals_(main_io, SIGINT, SIGTERM), workers_(workers) {
    arm();
  }

  // Starts the workers (once; not after a stop). Returns false if a signal came first.
  bool serve() {
    if (serving_ || stopped_) return false;
    serving_ = true;
    for (auto& w : workers_) {
      w->start();
      threads_.emplace_back([worker = w.get()] { worker->io().run(); });
    }
    return true;
  }
  bool serving() const { return serving_; }

  // After main_io.run() returned.
  void join() {
    for (auto& t : threads_) t.join();
  }

 private:
  void arm() {
    signals_.async_wait([this](std::error_code ec, int signo) {
      if (ec) return;  // cancelled: every worker drained
      arm();
      if (!serving_) {
        if (stopped_) return;
        stopped_ = true;
        spdlog::info("signal {} before serving: stopping", signo);
        std::error_code ignored;
        signals_.cancel(ignored);
        main_io_.stop();  // the first-answer timer is still armed
      } else if (!draining_) {
        draining_ = true;
        spdlog::info("signal {}: stopped accepting; draining", signo);
        for (auto& w : workers_) {
          asio::post(w->io(), [this, worker = w.get()] {
            worker->drain([this] { asio::post(main_io_, [this] { onWorkerDrained(); }); });
          });
        }
      } else {
        spdlog::info("signal {} again: closing every connection now", signo);
        for (auto& w : workers_) asio::post(w->io(), [worker = w.get()] { worker->closeAll(); });
      }
    });
  }

  void onWorkerDrained() {
    if (++drained_ < workers_.size()) return;
    spdlog::info("all connections ended");
    std::error_code ignored;
    signals_.cancel(ignored);
  }

  asio::io_context& main_io_;
  asio::signal_set signals_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<std::thread> threads_;
  bool serving_ = false;
  bool stopped_ = false;
  bool draining_ = false;
  size_t drained_ = 0;
};

health::HealthTable::Settings healthSettings(const config::Config& config) {
  // A probe whose connection never reports (aborted while connecting) frees the slot after
  // twice the time its connect could take.
  return {config.refused_backoff, config.eject_max, 2 * config.connect_timeout};
}

// How long the first clients may wait (in the listen backlog) for a first DNS answer before
// the workers serve anyway; DNS down is no reason not to serve (targets come when it answers).
constexpr std::chrono::seconds kFirstAnswerWait{10};

}  // namespace

int runServer(const config::Config& config) {
  std::signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();

  asio::io_context main_io(1);
  std::vector<std::unique_ptr<Worker>> workers;
  Lifecycle lifecycle(main_io, workers);  // signals handled from here on

  // Listen first: discovery must know our own endpoints to never forward to itself. Clients
  // that connect before the workers serve wait in the backlog (the kernel completes the
  // handshake), which beats being refused.
  std::string error;
  const unsigned count = workerCount(config);
  auto acceptors = proxy::openListeners(main_io, config.listen_address, config.listen_port, count,
                                        config.backlog, config.keepalive, error);
  if (acceptors.empty()) {
    spdlog::error("{}", error);
    return 1;
  }
  const auto bound = acceptors.front().local_endpoint();

  discovery::TargetBoard board;
  health::HealthTable health(healthSettings(config), &board);  // one for every worker
  log::AccessLog access_log(acceptors.size());                 // one shard per worker
  for (auto& acceptor : acceptors) {
    workers.push_back(std::make_unique<Worker>(
        config, board, health, access_log.shard(workers.size()), std::move(acceptor)));
  }
  if (config.pipe_size && workers.front()->pipeSize() < config.pipe_size) {  // once, not per worker
    spdlog::warn("--pipe-size {}: the kernel gave {} bytes (fs.pipe-max-size?)", config.pipe_size,
                 workers.front()->pipeSize());
  }
  auto discovery = discovery::Discovery::create(config, board, {bound}, error);
  if (!discovery) {
    spdlog::error("{}", error);
    return 1;
  }

  // Active checks, from their own thread; stopped below, so they never keep the process alive.
  std::optional<health::Checker> checker;
  if (config.health_check_interval) {
    checker.emplace(
        health::Checker::Settings{*config.health_check_interval, config.health_check_timeout,
                                  config.health_check_expect},
        board, health);
    checker->start();
  }

  const std::string where =
      config.listen_address ? net::format(bound) : "*:" + std::to_string(bound.port());
  auto serve = [&] {
    if (lifecycle.serve()) {
      spdlog::info("listening on {} ({} worker{})", where, count, count == 1 ? "" : "s");
    }
  };
  asio::steady_timer first_answer(main_io, kFirstAnswerWait);
  first_answer.async_wait([&](std::error_code ec) {
    if (ec || lifecycle.serving()) return;
    spdlog::warn("discovery: no answer yet for {}; serving anyway", config.target);
    serve();
  });
  discovery->start([&] {
    asio::post(main_io, [&] {
      first_answer.cancel();
      serve();
    });
  });

  main_io.run();  // until every worker drained, or a signal before serving
  if (checker) checker->stop();
  lifecycle.join();
  discovery->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace edge::app
