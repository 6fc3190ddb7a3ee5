#include "app/server.h"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <csignal>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "admin/admin_server.h"
#include "admin/connections_json.h"
#include "admin/process_view.h"
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
  uint64_t reloadsOk() const { return reloads_ok_; }  // main thread, as the next one
  uint64_t reloadsFailed() const { return reload_failures_; }

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

  // SIGHUP or POST /reload: reads the configuration again; applies it if valid, else keeps
  // what runs. Returns (applied, what happened) for the admin endpoint's answer.
  // `cause` names it in the log ("signal SIGHUP", "POST /reload").
  std::pair<bool, std::string> reloadNow(std::string_view cause = "signal SIGHUP") {
    if (phase_ != Phase::Running) {
      spdlog::info("{}: draining; not reloading", cause);
      return {false, "draining; not reloading"};
    }
    if (!serving_) {  // the first DNS wait: routes are not all set up yet
      spdlog::info("{}: reloading once serving starts", cause);
      reload_pending_ = true;
      return {true, "not serving yet: reloading once serving starts"};
    }
    if (!config().config_file) {
      spdlog::info("{}: nothing to reload (no --config file)", cause);
      return {false, "nothing to reload (no --config file)"};
    }
    auto loaded = reload_();
    if (!loaded.config) {
      ++reload_failures_;
      std::string why;
      for (const auto& line : loaded.errors) why += (why.empty() ? "" : "; ") + line;
      spdlog::error("reload: {}; keeping the running configuration ({} failed reload(s) so far)",
                    why, reload_failures_);
      return {false, why + "; keeping the running configuration"};
    }
    const auto& next = *loaded.config;
    for (const auto& note : globalNotes(config(), next)) spdlog::warn("reload: {}", note);
    if (next.log_level != config().log_level) log::setLevel(next.log_level);
    std::vector<std::string> problems;
    const auto changes = routes_.apply(next, problems);
    if (!problems.empty()) ++reload_failures_;
    if (problems.empty()) ++reloads_ok_;
    std::string said;
    for (const auto& p : problems) {
      spdlog::error("reload: {} ({} failed reload(s) so far)", p, reload_failures_);
      said += p + "\n";
    }
    spdlog::info("reload: {}", changes.empty() ? "no change" : changes);
    return {problems.empty(), said + (changes.empty() ? "no change" : changes)};
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
    note(a.admin != b.admin, "admin");
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
    routes_.cancelTimers();  // a reload's 10 s first-answer wait must not delay the exit
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
  uint64_t reloads_ok_ = 0;
  bool reload_pending_ = false;  // SIGHUP came before serving
  std::function<void()> on_drain_start_;
};

// How long the first clients may wait (in the listen backlog) for a first DNS answer before
// the workers serve anyway; DNS down is no reason not to serve (targets come when it answers).
constexpr std::chrono::seconds kFirstAnswerWait{10};

// --- Admin endpoint (--admin) ---------------------------------------------------------------

// POST /reload, on an admin thread: the reload runs on the main thread, as a SIGHUP's does; this
// waits for its result, but not past the end of the main loop (shutdown) or kReloadWait.
constexpr std::chrono::seconds kReloadWait{30};

// Runs `f` on the main thread (which owns the routes) and waits for its result, but not past
// the end of the main loop (shutdown) or `wait`: nullopt then.
template <class F>
auto onMainThread(asio::io_context& main_io, const std::atomic<bool>& admin_stopping,
                  std::chrono::steady_clock::duration wait, F f)
    -> std::optional<std::invoke_result_t<F>> {
  using Result = std::invoke_result_t<F>;
  auto promise = std::make_shared<std::promise<Result>>();
  auto future = promise->get_future();
  asio::post(main_io, [promise, f = std::move(f)]() mutable { promise->set_value(f()); });
  const auto until = std::chrono::steady_clock::now() + wait;
  while (future.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
    if (admin_stopping || std::chrono::steady_clock::now() > until) return std::nullopt;
  }
  try {
    return future.get();
  } catch (const std::future_error&) {  // the main loop ended with the call still queued
    return std::nullopt;
  }
}

std::pair<bool, std::string> reloadOnMainThread(asio::io_context& main_io, Lifecycle& lifecycle,
                                                const std::atomic<bool>& admin_stopping) {
  auto result = onMainThread(main_io, admin_stopping, kReloadWait,
                             [&lifecycle] { return lifecycle.reloadNow("POST /reload"); });
  if (!result)
    return {false,
            admin_stopping ? "stopping; not reloading" : "the reload did not finish in time"};
  return *result;
}

// /metrics, /targets and /ready read the routes on the main thread; a scrape takes
// milliseconds, so this wait only runs out when the main loop is stuck or gone.
constexpr std::chrono::seconds kViewWait{5};
constexpr std::chrono::seconds kConnectionsWait{1};

admin::Handlers adminHandlers(asio::io_context& main_io, Routes& routes,
                              std::vector<std::unique_ptr<Worker>>& workers, Readiness& readiness,
                              Lifecycle& lifecycle, const std::optional<log::AccessLog>& access_log,
                              const std::atomic<bool>& admin_stopping) {
  admin::Handlers h;
  auto view = [&routes, &workers, &readiness, &lifecycle, &access_log] {
    return admin::ProcessView{routes,
                              workers,
                              readiness,
                              lifecycle.reloadsOk(),
                              lifecycle.reloadsFailed(),
                              access_log ? access_log->dropped() : uint64_t{0}};
  };
  h.ready = [&main_io, &admin_stopping, view] {
    auto state = onMainThread(main_io, admin_stopping, kViewWait,
                              [view] { return admin::readyState(view()); });
    return state.value_or(std::pair<bool, std::string>(false, "stopping"));
  };
  h.metrics = [&main_io, &admin_stopping, view] {
    return onMainThread(main_io, admin_stopping, kViewWait,
                        [view] { return admin::metricsText(view()); })
        .value_or(std::string());
  };
  h.targets = [&main_io, &admin_stopping, view] {
    return onMainThread(main_io, admin_stopping, kViewWait,
                        [view] { return admin::targetsJson(view()); })
        .value_or(std::string(R"({"routes": []})"));
  };
  h.reload = [&main_io, &lifecycle, &admin_stopping] {
    return reloadOnMainThread(main_io, lifecycle, admin_stopping);
  };
  // Each worker lists its own connections on its thread; a worker that does not answer in
  // kConnectionsWait (stuck, or gone at shutdown) is left out.
  h.connections = [&workers, &admin_stopping](std::optional<std::string> route, size_t limit) {
    using Part = std::pair<std::vector<proxy::ConnectionInfo>, size_t>;
    std::vector<std::future<Part>> parts;
    for (auto& w : workers) {
      auto promise = std::make_shared<std::promise<Part>>();
      parts.push_back(promise->get_future());
      asio::post(w->io(), [promise, worker = w.get(), route, limit] {
        promise->set_value(worker->connections(route, limit));
      });
    }
    std::vector<proxy::ConnectionInfo> all;
    size_t total = 0;
    const auto until = std::chrono::steady_clock::now() + kConnectionsWait;
    for (auto& part : parts) {
      if (admin_stopping || part.wait_until(until) != std::future_status::ready) continue;
      try {
        auto [infos, matched] = part.get();
        total += matched;
        std::move(infos.begin(), infos.end(), std::back_inserter(all));
      } catch (const std::future_error&) {  // the worker's loop ended with the call queued
      }
    }
    return admin::connectionsJson(std::move(all), total, limit);
  };
  return h;
}

// The admin endpoint: bound with the listeners, before the privilege drop (so "address taken"
// is known while start-up can still stop, and a port below 1024 works), started after it. The
// default address being taken (a second instance on a host network) only costs the endpoint; an
// address the operator chose stops start-up. During an upgrade the old process holds the address
// until it has handed its listeners over and lets it go (stop()); the new one binds it then,
// trying again every kAdminRetryEvery for up to kAdminRetryFor. Main thread only.
constexpr std::chrono::milliseconds kAdminRetryEvery{250};
constexpr std::chrono::seconds kAdminRetryFor{60};

class Admin {
 public:
  Admin(asio::io_context& main_io, const config::Config& config, std::atomic<bool>& stopping,
        admin::Handlers handlers)
      : config_(config), stopping_(stopping), handlers_(std::move(handlers)), retry_(main_io) {}

  // False when start-up must stop.
  bool bind() {
    if (!config_.admin) {
      spdlog::info("admin endpoint off");
      return true;
    }
    admin::AdminServer::BindError error;
    server_ = admin::AdminServer::bind(*config_.admin, handlers_, error);
    if (server_) {
      spdlog::info("admin endpoint on http://{}/", net::format(server_->endpoint()));
      return true;
    }
    if (config_.upgrade_from && error.code == std::errc::address_in_use) {
      spdlog::info("admin endpoint: {}: the old process's until it hands over; then it is ours",
                   error.message);
      retrying_ = true;
      return true;
    }
    if (config_.admin_explicit) {
      spdlog::error("admin endpoint (--admin): {} (`--admin off` runs without it)", error.message);
      return false;
    }
    if (error.code == std::errc::address_in_use) {
      spdlog::warn(
          "admin endpoint: {}: the default address is taken (another edge-connector on this "
          "host?); running without the admin endpoint (--admin ADDR:PORT chooses another)",
          error.message);
    } else {
      spdlog::warn("admin endpoint: {}; running without the admin endpoint", error.message);
    }
    return true;
  }

  // After the privilege drop: its threads are the drop's concern.
  void start() {
    if (server_) server_->start();
    if (retrying_) {
      retry_until_ = std::chrono::steady_clock::now() + kAdminRetryFor;
      armRetry();
    }
  }

  // For good: handed over to a new process, or the main loop ended. A POST /reload waiting for
  // the main thread gives up (stopping_) so that the join cannot wait for it.
  void stop() {
    stopping_ = true;
    retrying_ = false;
    retry_.cancel();
    if (server_) server_->stop();
  }

 private:
  void armRetry() {
    retry_.expires_after(kAdminRetryEvery);
    retry_.async_wait([this](std::error_code ec) {
      if (ec || !retrying_) return;
      admin::AdminServer::BindError error;
      server_ = admin::AdminServer::bind(*config_.admin, handlers_, error);
      if (server_) {
        retrying_ = false;
        server_->start();
        spdlog::info("admin endpoint on http://{}/", net::format(server_->endpoint()));
      } else if (error.code == std::errc::address_in_use &&
                 std::chrono::steady_clock::now() < retry_until_) {
        armRetry();
      } else {
        retrying_ = false;
        spdlog::error("admin endpoint: {}; running without the admin endpoint", error.message);
      }
    });
  }

  const config::Config& config_;
  std::atomic<bool>& stopping_;
  admin::Handlers handlers_;
  std::unique_ptr<admin::AdminServer> server_;
  asio::steady_timer retry_;
  std::chrono::steady_clock::time_point retry_until_{};
  bool retrying_ = false;
};

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
  std::atomic<bool> admin_stopping{false};  // no reload runs on the main thread from now on
  Admin admin(
      main_io, config, admin_stopping,
      adminHandlers(main_io, routes, workers, readiness, lifecycle, access_log, admin_stopping));
  if (!admin.bind()) return 1;
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

  admin.start();

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
          [&](pid_t pid) {
            lifecycle.handedOver(pid);
            admin.stop();  // the new process takes the address over
          });
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
  admin.stop();   // it answers until here: /ready says why not while draining
  if (handover_server) handover_server->stop();
  routes.stop();
  lifecycle.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace edge::app
