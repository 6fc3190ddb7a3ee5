#pragma once
// The routes as the main thread runs them: per route its listening sockets, its discovery and
// its health checker, and the SharedRoute the workers serve new connections with. Opens them at
// start-up and applies a reloaded configuration as a difference (app/route_diff.h), so that
// nothing an unchanged route has (targets, health, listeners) is lost and no open connection
// is touched. Main thread only; workers are told through asio::post.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "app/readiness.h"
#include "app/worker.h"
#include "config/config.h"
#include "discovery/discovery.h"
#include "health/checker.h"
#include "net/fd.h"
#include "proxy/route_context.h"

namespace edge::app {

// A listening socket another process handed over (app/handover.h), by config::listenKey().
struct TakenListener {
  std::string key;
  net::Fd fd;
};

// One running route as /metrics, /targets and /ready see it (main thread; valid during the
// call only).
struct RouteState {
  const config::Route& settings;
  const proxy::SharedRoute& shared;
  const discovery::Discovery* discovery;  // null if its resolver could not be set up
  const health::Checker* checker;         // null without --health-check-interval
  const std::vector<net::Endpoint>& bound;
};

class Routes {
 public:
  // `workers` may still be empty: it is read from attach() on; `worker_count` sockets are bound
  // per route.
  Routes(asio::io_context& main_io, std::vector<std::unique_ptr<Worker>>& workers,
         size_t worker_count, Readiness& readiness);
  ~Routes();

  // Start-up, before any thread: binds every route's listeners (taking those in `taken` whose
  // key matches). False, with `error`, if one cannot listen.
  bool open(const config::Config& config, std::vector<TakenListener>& taken, std::string& error);
  // Then, once the workers exist: gives them the routes and their listeners.
  void attach();
  // Starts discovery and health checks; `on_first_round` (main thread) once every route's first
  // lookup round ended.
  void start(std::function<void()> on_first_round);
  // Applies `next` (already valid) and returns what changed, for the log ("" if nothing).
  // A listener that cannot be bound leaves that route as it was, with the reason in `problems`.
  std::string apply(const config::Config& next, std::vector<std::string>& problems);
  // Stops discovery and health checks (at the end).
  void stop();
  // Cancels the reloads' pending timers (first-answer waits, listener retirements): once every
  // worker drained they have nothing left to do, and an armed one would keep the main loop
  // (and the process) running until it fires.
  void cancelTimers();

  // What an upgrade hands over: every listening socket, by key. Valid until the next call.
  std::vector<std::pair<std::string, int>> listenersToHand() const;
  // Closes the main thread's copies of the listening sockets (draining, or handed over): a
  // listener that no worker accepts on must not stay open, or clients would wait in its queue.
  void closeListenerCopies();
  size_t listenerCount() const;
  const config::Config& config() const { return config_; }
  // Where the routes listen, for the start-up line: "ADDR" (one default route) or
  // "ADDR (NAME), ...".
  std::string describeListeners() const;
  // Every running route, in the configuration's order.
  void forEach(const std::function<void(const RouteState&)>& f) const;

 private:
  struct Running {
    std::shared_ptr<const proxy::SharedRoute> shared;
    std::unique_ptr<discovery::Discovery> discovery;
    std::unique_ptr<health::Checker> checker;
    std::string key;              // listenKey() of its listeners
    std::vector<net::Fd> copies;  // dup()s of the listeners, for an upgrade
    std::vector<net::Endpoint> bound;
    std::vector<asio::ip::tcp::acceptor> pending;  // bound by open(), for attach()
    bool answered = false;                         // its first lookup round ended
    bool has_targets = false;
  };

  // Binds `count` listeners for `route` (after the taken ones); empty + error on failure.
  std::vector<asio::ip::tcp::acceptor> bind(const config::Route& route,
                                            std::vector<TakenListener>& taken, std::string& error);
  // A route with fresh targets, health and counts, its bound `listeners` pending.
  Running newRoute(const config::Route& route, std::vector<asio::ip::tcp::acceptor> listeners);
  void giveListeners(Running& running, std::vector<asio::ip::tcp::acceptor> listeners);
  std::unique_ptr<discovery::Discovery> makeDiscovery(const std::string& name,
                                                      const config::Route& route,
                                                      discovery::TargetBoard& board);
  void startDiscovery(const std::string& name, Running& running);
  void restartChecker(Running& running);
  void publishRoute(const Running& running);
  void stopRoute(Running& running);
  void onTargets(const std::string& name, bool has_targets);
  void onFirstRound(const std::string& name);
  std::vector<net::Endpoint> ownListeners() const;
  std::shared_ptr<discovery::TargetBoard> newBoard(const std::string& name);

  asio::io_context& main_io_;
  std::vector<std::unique_ptr<Worker>>& workers_;
  const size_t worker_count_;
  Readiness& readiness_;
  config::Config config_;
  std::map<std::string, Running> routes_;
  std::function<void()> on_first_round_;
  bool first_round_done_ = false;
  // Listener retirements and first-answer waits of reloads (see routes.cpp).
  std::vector<std::unique_ptr<asio::steady_timer>> grace_timers_;
};

}  // namespace edge::app
