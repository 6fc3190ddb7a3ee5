#include "app/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <memory>
#include <thread>
#include <vector>

#include "app/worker.h"
#include "discovery/discovery.h"
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

// Signals are handled on the main thread's io_context; workers are told through post().
// First SIGTERM/SIGINT drains every worker, a second one closes every connection at once.
class Shutdown {
 public:
  Shutdown(asio::io_context& main_io, std::vector<std::unique_ptr<Worker>>& workers)
      : main_io_(main_io), signals_(main_io, SIGINT, SIGTERM), workers_(workers) {
    arm();
  }

 private:
  void arm() {
    signals_.async_wait([this](std::error_code ec, int signo) {
      if (ec) return;  // cancelled: every worker drained
      arm();
      if (!draining_) {
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
  bool draining_ = false;
  size_t drained_ = 0;
};

}  // namespace

int runServer(const config::Config& config) {
  std::signal(SIGPIPE, SIG_IGN);
  raiseFileLimit();

  discovery::TargetBoard board;
  std::string error;
  auto discovery = discovery::Discovery::create(config, board, error);
  if (!discovery) {
    spdlog::error("{}", error);
    return 1;
  }
  discovery->start();
  // Give the first answer a chance so the first clients find targets; DNS down is no reason
  // not to listen, though (the targets will come when it answers).
  if (!discovery->waitFirstRound(std::chrono::seconds(10))) {
    spdlog::warn("discovery: no answer yet for {}; listening anyway", config.target);
  }

  asio::io_context main_io(1);
  const unsigned count = workerCount(config);
  auto acceptors = proxy::openListeners(main_io, config.listen_address, config.listen_port, count,
                                        config.backlog, config.keepalive, error);
  if (acceptors.empty()) {
    spdlog::error("{}", error);
    return 1;
  }
  const auto bound = acceptors.front().local_endpoint();
  log::AccessLog access_log(acceptors.size());  // one shard per worker
  std::vector<std::unique_ptr<Worker>> workers;
  for (auto& acceptor : acceptors) {
    workers.push_back(std::make_unique<Worker>(config, board, access_log.shard(workers.size()),
                                               std::move(acceptor)));
  }
  Shutdown shutdown(main_io, workers);
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    w->start();
    threads.emplace_back([worker = w.get()] { worker->io().run(); });
  }
  spdlog::info("listening on {} ({} worker{})",
               config.listen_address ? net::format(bound) : "*:" + std::to_string(bound.port()),
               count, count == 1 ? "" : "s");
  main_io.run();  // until every worker drained
  for (auto& t : threads) t.join();

  discovery->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace edge::app
