#include "app/server.h"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <csignal>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "app/descriptor_plan.h"
#include "app/handover.h"
#include "app/privileges.h"
#include "app/readiness.h"
#include "app/routes.h"
#include "app/worker.h"
#include "config/duration.h"
#include "discovery/discovery.h"
#include "health/checker.h"
#include "health/health_table.h"
#include "log/access_log.h"
#include "log/logging.h"
#include "net/endpoint.h"
#include "proxy/connection_limits.h"
#include "proxy/listener.h"
#include "proxy/pipe_pool.h"

namespace edge::app {
namespace {

unsigned workerCount(const config::Config& config) {
  if (config.workers > 0) return config.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

// Signals are handled on the main thread's io_context from the start, so a signal during the
// first DNS wait stops the process cleanly instead of killing it with the default action.
// Before serving: the first SIGTERM/SIGINT stops at once (no connection was served). While
// serving: the first makes the process not ready and, after --drain-delay (during which it still
// accepts, so a load balancer in front has time to stop sending), drains every worker; a second
// one closes every connection at once. SIGHUP, SIGUSR1 and SIGUSR2 are logged and otherwise
// ignored: their default action would kill every live connection.
// Main thread only; workers are told through post().
class Lifecycle {
 public:
  Lifecycle(asio::io_context& main_io, Routes& routes, Readiness& readiness,
            std::vector<std::unique_ptr<Worker>>& workers, const Reload& reload)
      : main_io_(main_io),
        routes_(routes),
        reload_(reload),
        readiness_(readiness),
        stop_signals_(main_io, SIGINT, SIGTERM),
        other_signals_(main_io, SIGHUP, SIGUSR1, SIGUSR2),
        delay_(main_io),
        workers_(workers) {
    armStop();
    armOther();
  }

  // Starts the workers (once; not after a stop). Returns false if a signal came first.
  bool serve() {
    if (serving_ || stopped_) return false;
    serving_ = true;
    for (auto& w : workers_) {
      w->start();  // before its thread: nothing else runs on it yet
      threads_.emplace_back([worker = w.get()] { worker->io().run(); });
    }
    if (std::exchange(reload_pending_, false)) asio::post(main_io_, [this] { reloadNow(); });
    return true;
  }
  bool serving() const { return serving_; }

  // An upgrade: the new process serves on our listening sockets (its own copies of them), so
  // this one stops accepting, without serving what is queued (the new one does), and drains.
  void handedOver(pid_t pid) {
    if (phase_ == Phase::Draining) return;
    spdlog::info("upgrade: handed {} listening socket(s) to pid {}; draining",
                 routes_.listenerCount(), pid);
    readiness_.setDraining();
    phase_ = Phase::Draining;
    delay_.cancel();
    drainWorkers(/*retire=*/false);
  }

  // Runs when a drain starts (signal or upgrade): no handover to a new process from then on.
  void onDrainStart(std::function<void()> f) { on_drain_start_ = std::move(f); }

  // After main_io.run() returned.
  void join() {
    for (auto& t : threads_) t.join();
  }

 private:
  enum class Phase { Running, Delaying, Draining };

  void armStop() {
    stop_signals_.async_wait([this](std::error_code ec, int signo) {
      if (ec) return;  // cancelled: stopped, or every worker drained
      armStop();
      if (!serving_) return stopBeforeServing(signo);
      switch (phase_) {
        case Phase::Running:
          readiness_.setDraining();
          phase_ = Phase::Delaying;
          if (config().drain_delay.count() == 0) return startDrain(signo);
          spdlog::info("signal {}: not ready; accepting for {} more (--drain-delay), then draining",
                       signalName(signo), config::formatDuration(config().drain_delay));
          delay_.expires_after(config().drain_delay);
          delay_.async_wait([this, signo](std::error_code wait_ec) {
            if (!wait_ec) startDrain(signo);
          });
          return;
        case Phase::Delaying:
        case Phase::Draining:
          spdlog::info("signal {} again: closing every connection now", signalName(signo));
          if (phase_ == Phase::Delaying) startDrain(signo);
          for (auto& w : workers_) asio::post(w->io(), [worker = w.get()] { worker->closeAll(); });
          return;
      }
    });
  }

  void armOther() {
    other_signals_.async_wait([this](std::error_code ec, int signo) {
      if (ec) return;
      armOther();
      if (signo == SIGHUP) {
        reloadNow();
      } else {
        spdlog::info("signal {}: ignored", signalName(signo));
      }
    });
  }

  const config::Config& config() const { return routes_.config(); }

  // SIGHUP: reads the configuration again; applies it if valid, else keeps what runs.
  void reloadNow() {
    if (phase_ != Phase::Running) {
      spdlog::info("signal SIGHUP: draining; not reloading");
      return;
    }
    if (!serving_) {  // the first DNS wait: routes are not all set up yet
      spdlog::info("signal SIGHUP: reloading once serving starts");
      reload_pending_ = true;
      return;
    }
    if (!config().config_file) {
      spdlog::info("signal SIGHUP: nothing to reload (no --config file)");
      return;
    }
    auto loaded = reload_();
    if (!loaded.config) {
      ++reload_failures_;
      std::string why;
      for (const auto& line : loaded.errors) why += (why.empty() ? "" : "; ") + line;
      spdlog::error("reload: {}; keeping the running configuration ({} failed reload(s) so far)",
                    why, reload_failures_);
      return;
    }
    const auto& next = *loaded.config;
    for (const auto& note : globalNotes(config(), next)) spdlog::warn("reload: {}", note);
    if (next.log_level != config().log_level) log::setLevel(next.log_level);
    std::vector<std::string> problems;
    const auto changes = routes_.apply(next, problems);
    if (!problems.empty()) ++reload_failures_;
    for (const auto& p : problems) {
      spdlog::error("reload: {} ({} failed reload(s) so far)", p, reload_failures_);
    }
    spdlog::info("reload: {}", changes.empty() ? "no change" : changes);
  }

  // Global options a running process cannot change: said once per reload that changes them.
  static std::vector<std::string> globalNotes(const config::Config& a, const config::Config& b) {
    std::vector<std::string> out;
    auto note = [&](bool differs, const char* key) {
      if (differs)
        out.push_back(std::string(key) +
                      " changed: it takes effect at the next restart or upgrade");
    };
    note(a.workers != b.workers, "workers");
    note(a.pipe_size != b.pipe_size, "pipe_size");
    note(a.max_connections != b.max_connections, "max_connections");
    note(a.max_connections_per_source != b.max_connections_per_source,
         "max_connections_per_source");
    note(a.user != b.user || a.group != b.group, "user/group");
    note(a.upgrade_socket != b.upgrade_socket, "upgrade_socket");
    note(a.log_format != b.log_format, "log_format");
    note(a.access_log != b.access_log, "access_log");
    note(a.log_progress_interval != b.log_progress_interval, "log_progress_interval");
    return out;
  }

  void stopBeforeServing(int signo) {
    if (stopped_) return;
    stopped_ = true;
    spdlog::info("signal {} before serving: stopping", signalName(signo));
    cancelSignals();
    main_io_.stop();  // the first-answer timer is still armed
  }

  void startDrain(int signo) {
    phase_ = Phase::Draining;
    delay_.cancel();
    const auto timeout = config().drain_timeout;
    spdlog::info(
        "signal {}: stopped accepting; draining ({})", signalName(signo),
        timeout ? "for up to " + config::formatDuration(timeout) : std::string("no timeout"));
    drainWorkers(/*retire=*/true);
  }

  void drainWorkers(bool retire) {
    if (on_drain_start_) on_drain_start_();
    routes_.closeListenerCopies();  // no socket may stay open with nobody accepting on it
    const auto timeout = config().drain_timeout;
    for (auto& w : workers_) {
      asio::post(w->io(), [this, worker = w.get(), timeout, retire] {
        worker->drain(timeout, retire, [this](Worker::DrainCount count) {
          asio::post(main_io_, [this, count] { onWorkerDrained(count); });
        });
      });
    }
  }

  void onWorkerDrained(Worker::DrainCount count) {
    total_.ended += count.ended;
    total_.cut += count.cut;
    if (++drained_ < workers_.size()) return;
    spdlog::info("drain finished: {} connection(s) ended by themselves, {} cut", total_.ended,
                 total_.cut);
    cancelSignals();
  }

  void cancelSignals() {
    std::error_code ignored;
    stop_signals_.cancel(ignored);
    other_signals_.cancel(ignored);
  }

  static std::string signalName(int signo) {
    switch (signo) {
      case SIGINT:
        return "SIGINT";
      case SIGTERM:
        return "SIGTERM";
      case SIGUSR1:
        return "SIGUSR1";
      case SIGUSR2:
        return "SIGUSR2";
      default:
        return std::to_string(signo);
    }
  }

  asio::io_context& main_io_;
  Routes& routes_;
  const Reload& reload_;
  Readiness& readiness_;
  asio::signal_set stop_signals_;
  asio::signal_set other_signals_;
  asio::steady_timer delay_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  std::vector<std::thread> threads_;
  Phase phase_ = Phase::Running;
  bool serving_ = false;
  bool stopped_ = false;
  size_t drained_ = 0;
  Worker::DrainCount total_;
  uint64_t reload_failures_ = 0;
  bool reload_pending_ = false;  // SIGHUP came before serving
  std::function<void()> on_drain_start_;
};

// How long the first clients may wait (in the listen backlog) for a first DNS answer before
// the workers serve anyway; DNS down is no reason not to serve (targets come when it answers).
constexpr std::chrono::seconds kFirstAnswerWait{10};

}  // namespace

int runServer(const config::Config& config, const Reload& reload) {
  std::signal(SIGPIPE, SIG_IGN);
  const unsigned count = workerCount(config);
  auto& pipe_budget = proxy::PipeBudget::process();
  const auto plan =
      planDescriptors(raiseDescriptorLimit(), count, config.pipe_size, pipe_budget.limit());
  pipe_budget.capTo(plan.pipes * config.pipe_size);
  const size_t max_connections = config.max_connections.value_or(plan.connections);
  if (config.max_connections && max_connections > plan.connections) {
    spdlog::warn(
        "--max-connections {} is above what the descriptor limit ({}) leaves for connections "
        "({}): past that, clients are closed as descriptors run out",
        max_connections, plan.limit, plan.connections);
  } else {
    spdlog::info("at most {} connections ({}, descriptor limit {})", max_connections,
                 config.max_connections ? "--max-connections" : "default", plan.limit);
  }
  proxy::ConnectionLimits limits(max_connections, config.max_connections_per_source);

  asio::io_context main_io(1);
  // Started after the privilege drop (its flusher is the first thread), but declared before the
  // workers, which write to it until they go.
  std::optional<log::AccessLog> access_log;
  std::vector<std::unique_ptr<Worker>> workers;
  Readiness readiness;
  Routes routes(main_io, workers, count, readiness);
  Lifecycle lifecycle(main_io, routes, readiness, workers, reload);  // signals handled from here

  // Listen first: discovery must know our own endpoints to never forward to itself. Clients
  // that connect before the workers serve wait in the backlog (the kernel completes the
  // handshake), which beats being refused. An upgrade takes the old process's sockets instead.
  std::string error;
  std::optional<HandoverClient> handover;
  std::vector<TakenListener> taken;
  if (config.upgrade_from) {
    handover = HandoverClient::connect(*config.upgrade_from, kHandoverTimeout, error);
    if (!handover) {
      spdlog::error("upgrade: {}", error);
      return 1;
    }
    for (auto& l : handover->listeners()) taken.push_back({l.key, net::Fd(l.fd)});
    spdlog::info("upgrade: took {} listening socket(s) from {} (pid {})", taken.size(),
                 *config.upgrade_from, handover->peerPid());
  }
  if (!routes.open(config, taken, error)) {
    spdlog::error("{}", error);
    return 1;
  }
  for (auto& t : taken) {
    if (t.fd.get() >= 0)
      spdlog::warn("upgrade: no route listens on {}: its socket is closed", t.key);
  }
  taken.clear();
  // Bound: the privileges binding needed can go, before any thread exists (capabilities are
  // per thread). CAP_NET_BIND_SERVICE stays, for a reload that binds a port below 1024.
  if (config.user || config.group) {
    auto identity = resolveIdentity(config.user, config.group, error);
    if (!identity || !dropPrivileges(*identity, error)) {
      spdlog::error("cannot switch to --user/--group: {}; not running on as root", error);
      return 1;
    }
    spdlog::info("running as {}, keeping CAP_NET_BIND_SERVICE", describe(*identity));
  }

  access_log.emplace(count, log::AccessLogSettings::from(config));  // one shard per worker
  for (unsigned i = 0; i < count; ++i) {
    workers.push_back(
        std::make_unique<Worker>(config.pipe_size, access_log->shard(workers.size()), limits));
  }
  routes.attach();
  if (config.pipe_size && workers.front()->pipeSize() < config.pipe_size) {  // once, not per worker
    spdlog::warn("--pipe-size {}: the kernel gave {} bytes (fs.pipe-max-size?)", config.pipe_size,
                 workers.front()->pipeSize());
  }

  const std::string where = routes.describeListeners();
  std::optional<HandoverServer> handover_server;
  auto serve = [&] {
    if (!lifecycle.serve()) return;
    spdlog::info("listening on {} ({} worker{})", where, count, count == 1 ? "" : "s");
    readiness.setServing(true);
    if (handover && !handover->confirmServing(error)) {
      // The old process may have gone: we serve anyway, on the same sockets.
      spdlog::warn("upgrade: {}", error);
    }
    handover.reset();
    if (config.upgrade_socket) {
      handover_server.emplace(
          main_io, *config.upgrade_socket,
          [&] {
            std::vector<HandedListener> out;
            for (auto& [key, fd] : routes.listenersToHand()) out.push_back({key, fd});
            return out;
          },
          [&](pid_t pid) { lifecycle.handedOver(pid); });
      if (!handover_server->start(error)) {
        spdlog::error("upgrade: {}; this process cannot hand its sockets over", error);
        handover_server.reset();
      }
    }
  };
  lifecycle.onDrainStart([&] {
    if (handover_server) handover_server->stop();
  });
  asio::steady_timer first_answer(main_io, kFirstAnswerWait);
  first_answer.async_wait([&](std::error_code ec) {
    if (ec || lifecycle.serving()) return;
    spdlog::warn("discovery: no answer yet; serving anyway");
    serve();
  });
  routes.start([&] {
    first_answer.cancel();
    serve();
  });

  main_io.run();  // until every worker drained, or a signal before serving
  if (handover_server) handover_server->stop();
  routes.stop();
  lifecycle.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace edge::app
