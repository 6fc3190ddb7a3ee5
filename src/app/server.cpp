#include "app/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <asio/signal_set.hpp>
#include <csignal>

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

// First SIGTERM/SIGINT drains, a second one closes every connection at once.
void armSignals(asio::signal_set& signals, Worker& worker) {
  signals.async_wait([&signals, &worker](std::error_code ec, int signo) {
    if (ec) return;               // cancelled: drained
    armSignals(signals, worker);  // before draining, which may cancel the wait at once
    static bool draining = false;
    if (!draining) {
      draining = true;
      spdlog::info("signal {}: stopped accepting; draining", signo);
      worker.drain([&signals] {
        spdlog::info("all connections ended");
        std::error_code ignored;
        signals.cancel(ignored);
      });
    } else {
      spdlog::info("signal {} again: closing every connection now", signo);
      worker.closeAll();
    }
  });
}

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

  asio::io_context setup_io;
  auto acceptor = proxy::openListener(setup_io, config.listen_address, config.listen_port, error);
  if (!acceptor) {
    spdlog::error("{}", error);
    return 1;
  }
  const auto bound = acceptor->local_endpoint();
  log::AccessLog access_log;
  Worker worker(config, board, access_log, std::move(*acceptor));
  asio::signal_set signals(worker.io(), SIGINT, SIGTERM);
  armSignals(signals, worker);
  worker.start();
  spdlog::info("listening on {}",
               config.listen_address ? net::format(bound) : "*:" + std::to_string(bound.port()));
  worker.io().run();

  discovery->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace edge::app
