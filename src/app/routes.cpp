#include "app/routes.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <asio/post.hpp>

#include "app/route_diff.h"
#include "net/endpoint.h"
#include "net/socket_options.h"
#include "proxy/listener.h"

namespace edge::app {
namespace {

health::HealthTable::Settings healthSettings(const config::Route& route) {
  // A probe whose connection never reports (aborted while connecting) frees the slot after
  // twice the time its connect could take.
  return {route.refused_backoff, route.eject_max, 2 * route.connect_timeout};
}

// After a listen change, the old listeners serve what they queued once the new ones are bound:
// connections whose handshake began on the old address before the switch get this long to
// complete it (a handshake takes a round trip; a second covers any network).
constexpr std::chrono::seconds kListenerGrace{1};

// How long the clients of a route added by a reload may wait (in the backlog) for its first DNS
// answer; as at start-up (app/server.cpp).
constexpr std::chrono::seconds kFirstAnswerWait{10};

}  // namespace

Routes::Routes(asio::io_context& main_io, std::vector<std::unique_ptr<Worker>>& workers,
               size_t worker_count, Readiness& readiness)
    : main_io_(main_io), workers_(workers), worker_count_(worker_count), readiness_(readiness) {}

Routes::~Routes() {
  stop();
}

std::vector<asio::ip::tcp::acceptor> Routes::bind(const config::Route& route,
                                                  std::vector<TakenListener>& taken,
                                                  std::string& error) {
  const std::string key = config::listenKey(route);
  std::vector<asio::ip::tcp::acceptor> out;
  for (auto& t : taken) {
    if (t.key != key || t.fd.get() < 0) continue;
    const int fd = t.fd.get();
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    const auto protocol = ss.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4();
    // The route's socket options may differ from the old process's: set them again.
    net::setKeepAlive(fd, route.keepalive);
    net::setUserTimeout(fd, route.user_timeout);
    ::listen(fd, route.backlog > 0 ? route.backlog : SOMAXCONN);
    asio::ip::tcp::acceptor acceptor(main_io_);
    std::error_code ec;
    acceptor.assign(protocol, fd, ec);
    if (ec) {
      error = "cannot use the listener for " + key + " handed over: " + ec.message();
      return {};
    }
    t.fd.release();
    out.push_back(std::move(acceptor));
  }
  // One socket per worker at least (SO_REUSEPORT spreads the accepts); more when an upgrade
  // handed over more: each is served, so nothing queued in one is lost.
  if (out.size() < worker_count_) {
    auto more = proxy::openListeners(main_io_, route.listen_address, route.listen_port,
                                     worker_count_ - out.size(), route.backlog, route.keepalive,
                                     route.user_timeout, error);
    if (more.empty()) return {};
    for (auto& a : more) out.push_back(std::move(a));
  }
  return out;
}

std::shared_ptr<discovery::TargetBoard> Routes::newBoard(const std::string& name) {
  auto board = std::make_shared<discovery::TargetBoard>();
  // Discovery thread: hand the news to the main thread.
  board->onPublish([this, name](const balance::TargetSet& set) {
    asio::post(main_io_, [this, name, has = !set.empty()] { onTargets(name, has); });
  });
  return board;
}

void Routes::giveListeners(Running& running, std::vector<asio::ip::tcp::acceptor> listeners) {
  const auto& name = running.shared->settings.name;
  for (size_t i = 0; i < listeners.size(); ++i) {
    running.copies.emplace_back(::fcntl(listeners[i].native_handle(), F_DUPFD_CLOEXEC, 0));
    auto& worker = *workers_[i % workers_.size()];
    asio::post(worker.io(),
               [&worker, name, key = running.key,
                l = std::make_shared<asio::ip::tcp::acceptor>(std::move(listeners[i]))]() mutable {
                 worker.addListener(name, key, std::move(*l));
               });
  }
}

void Routes::publishRoute(const Running& running) {
  for (auto& w : workers_) {
    asio::post(w->io(), [worker = w.get(), shared = running.shared] { worker->setRoute(shared); });
  }
}

Routes::Running Routes::newRoute(const config::Route& route,
                                 std::vector<asio::ip::tcp::acceptor> listeners) {
  auto board = newBoard(route.name);
  auto health = std::make_shared<health::HealthTable>(healthSettings(route), board.get());
  Running running;
  running.shared = std::make_shared<proxy::SharedRoute>(
      proxy::SharedRoute{route, board, health, std::make_shared<balance::ActiveConnections>(),
                         proxy::makeRateLimiter(route)});
  running.key = config::listenKey(route);
  for (auto& l : listeners) running.bound.push_back(l.local_endpoint());
  running.pending = std::move(listeners);  // until attach() or the first answer
  return running;
}

bool Routes::open(const config::Config& config, std::vector<TakenListener>& taken,
                  std::string& error) {
  config_ = config;
  for (const auto& route : config.routes) {
    auto listeners = bind(route, taken, error);
    if (listeners.empty()) return false;
    routes_.emplace(route.name, newRoute(route, std::move(listeners)));
  }
  return true;
}

void Routes::attach() {
  for (auto& [name, running] : routes_) {
    publishRoute(running);
    giveListeners(running, std::exchange(running.pending, {}));
  }
}

std::vector<net::Endpoint> Routes::ownListeners() const {
  std::vector<net::Endpoint> out;
  for (const auto& [name, r] : routes_) out.insert(out.end(), r.bound.begin(), r.bound.end());
  return out;
}

std::unique_ptr<discovery::Discovery> Routes::makeDiscovery(const std::string& name,
                                                            const config::Route& route,
                                                            discovery::TargetBoard& board) {
  std::string error;
  auto d = discovery::Discovery::create(route, config_.dns_servers, board, ownListeners(), error);
  if (!d) spdlog::error("route {}: {}", name, error);
  return d;
}

void Routes::startDiscovery(const std::string& name, Running& running) {
  running.discovery = makeDiscovery(name, running.shared->settings, *running.shared->board);
  if (!running.discovery) {
    onFirstRound(name);  // nothing will answer: do not hold the start back for it
    return;
  }
  running.discovery->start(
      [this, name] { asio::post(main_io_, [this, name] { onFirstRound(name); }); });
}

void Routes::restartChecker(Running& running) {
  if (running.checker) running.checker->stop();
  running.checker.reset();
  const auto& route = running.shared->settings;
  if (!route.health_check_interval) return;
  running.checker = std::make_unique<health::Checker>(
      health::Checker::Settings{*route.health_check_interval, route.health_check_timeout,
                                route.health_check_expect},
      *running.shared->board, *running.shared->health);
  running.checker->start();
}

void Routes::start(std::function<void()> on_first_round) {
  on_first_round_ = std::move(on_first_round);
  for (auto& [name, running] : routes_) {
    startDiscovery(name, running);
    restartChecker(running);
  }
}

void Routes::onFirstRound(const std::string& name) {
  auto it = routes_.find(name);
  if (it != routes_.end()) {
    it->second.answered = true;
    // A route added by a reload accepts once it has targets (or DNS had its chance): until
    // then its clients wait in the backlog, as at start-up, instead of meeting no_targets.
    if (first_round_done_ && !it->second.pending.empty()) {
      giveListeners(it->second, std::exchange(it->second.pending, {}));
    }
  }
  if (first_round_done_) return;
  for (const auto& [n, r] : routes_) {
    if (!r.answered) return;
  }
  first_round_done_ = true;
  if (on_first_round_) on_first_round_();
}

void Routes::onTargets(const std::string& name, bool has_targets) {
  auto it = routes_.find(name);
  if (it == routes_.end()) return;
  it->second.has_targets = has_targets;
  bool all = true;
  for (const auto& [n, r] : routes_) all = all && r.has_targets;
  readiness_.setHasTargets(all);
}

void Routes::stopRoute(Running& running) {
  if (running.checker) running.checker->stop();
  if (running.discovery) running.discovery->stop();
}

void Routes::stop() {
  for (auto& [name, running] : routes_) stopRoute(running);
}

void Routes::cancelTimers() {
  for (auto& timer : grace_timers_) timer->cancel();
}

std::string Routes::apply(const config::Config& next, std::vector<std::string>& problems) {
  // Timers of earlier reloads that have done their work.
  std::erase_if(grace_timers_, [now = std::chrono::steady_clock::now()](const auto& t) {
    return t->expiry() + std::chrono::seconds(1) < now;
  });
  std::vector<std::string> changes;
  const bool dns_changed = next.dns_servers != config_.dns_servers;
  // Removed routes first: a new route may take over their address.
  for (auto it = routes_.begin(); it != routes_.end();) {
    const auto& name = it->first;
    const bool kept = std::any_of(next.routes.begin(), next.routes.end(),
                                  [&](const config::Route& r) { return r.name == name; });
    if (kept) {
      ++it;
      continue;
    }
    stopRoute(it->second);
    auto open = std::make_shared<std::pair<size_t, size_t>>(0, 0);  // reported, connections
    for (auto& w : workers_) {
      asio::post(w->io(), [this, worker = w.get(), name, open, n = workers_.size()] {
        const size_t count = worker->removeRoute(name);
        asio::post(main_io_, [name, open, count, n] {
          open->second += count;
          if (++open->first == n) {
            spdlog::info("route {}: stopped accepting; {} open connection(s) run on", name,
                         open->second);
          }
        });
      });
    }
    changes.push_back("removed route " + name);
    it = routes_.erase(it);  // the listener copies close with it
  }

  std::vector<TakenListener> none;
  for (const auto& route : next.routes) {
    auto it = routes_.find(route.name);
    if (it == routes_.end()) {  // added
      std::string error;
      auto listeners = bind(route, none, error);
      if (listeners.empty()) {
        problems.push_back("route " + route.name + ": " + error);
        continue;
      }
      // Its listeners go to the workers at its first answer (onFirstRound).
      auto running = newRoute(route, std::move(listeners));
      publishRoute(running);
      auto& placed = routes_.emplace(route.name, std::move(running)).first->second;
      startDiscovery(route.name, placed);
      restartChecker(placed);
      auto timer = std::make_unique<asio::steady_timer>(main_io_, kFirstAnswerWait);
      timer->async_wait([this, name = route.name](std::error_code ec) {
        if (!ec) onFirstRound(name);  // no answer yet: serve anyway, as at start-up
      });
      grace_timers_.push_back(std::move(timer));
      spdlog::info("route {}: listening on {} ({} worker{})", route.name, placed.key,
                   workers_.size(), workers_.size() == 1 ? "" : "s");
      changes.push_back("added route " + route.name);
      continue;
    }

    Running& running = it->second;
    const auto& before = running.shared->settings;
    const auto change = diffRoute(before, route, dns_changed);
    if (!change.any()) continue;
    std::vector<asio::ip::tcp::acceptor> listeners;
    if (change.listen) {
      std::string error;
      listeners = bind(route, none, error);
      if (listeners.empty()) {
        problems.push_back("route " + route.name + ": " + error + " (kept as it was)");
        continue;
      }
    }
    auto health = running.shared->health;
    if (change.health) {
      health =
          std::make_shared<health::HealthTable>(healthSettings(route), running.shared->board.get());
    }
    if (change.discovery && running.discovery) running.discovery->stop();
    if (change.checker) running.checker.reset();  // stops it; it reads the old health table
    auto rate_limiter =
        change.rate_limit ? proxy::makeRateLimiter(route) : running.shared->rate_limiter;
    running.shared = std::make_shared<proxy::SharedRoute>(proxy::SharedRoute{
        route, running.shared->board, health, running.shared->active, std::move(rate_limiter)});
    publishRoute(running);
    if (change.listen) {
      const std::string old_key = running.key;
      running.key = config::listenKey(route);
      running.copies.clear();
      running.bound.clear();
      for (auto& l : listeners) running.bound.push_back(l.local_endpoint());
      giveListeners(running, std::move(listeners));
      // The new address is bound: retire the old listeners once in-flight handshakes are done.
      auto timer = std::make_unique<asio::steady_timer>(main_io_, kListenerGrace);
      timer->async_wait([this, name = route.name, old_key](std::error_code ec) {
        if (ec) return;
        for (auto& w : workers_) {
          asio::post(w->io(),
                     [worker = w.get(), name, old_key] { worker->retireListener(name, old_key); });
        }
      });
      grace_timers_.push_back(std::move(timer));
    } else if (change.listener_options) {
      for (const auto& copy : running.copies) {  // the same sockets the workers accept on
        net::setKeepAlive(copy.get(), route.keepalive);
        net::setUserTimeout(copy.get(), route.user_timeout);
        ::listen(copy.get(), route.backlog > 0 ? route.backlog : SOMAXCONN);
      }
    }
    if (change.discovery) startDiscovery(route.name, running);
    if (change.checker) restartChecker(running);
    std::string keys;
    for (const auto& k : change.keys) keys += (keys.empty() ? "" : ", ") + k;
    changes.push_back("changed route " + route.name + " (" + keys + ")");
  }
  config_ = next;
  // Readiness over the routes as they are now.
  bool all = true;
  for (const auto& [n, r] : routes_) all = all && r.has_targets;
  readiness_.setHasTargets(all);

  std::string text;
  for (const auto& c : changes) text += (text.empty() ? "" : ", ") + c;
  return text;
}

std::vector<std::pair<std::string, int>> Routes::listenersToHand() const {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& [name, r] : routes_) {
    for (const auto& copy : r.copies) {
      if (copy.get() >= 0) out.emplace_back(r.key, copy.get());
    }
  }
  return out;
}

void Routes::closeListenerCopies() {
  for (auto& [name, r] : routes_) {
    r.copies.clear();
    r.pending.clear();  // a route added by a reload that never got its first answer
  }
}

size_t Routes::listenerCount() const {
  size_t n = 0;
  for (const auto& [name, r] : routes_) n += r.copies.size();
  return n;
}

std::string Routes::describeListeners() const {
  std::string out;
  for (const auto& [name, r] : routes_) {
    std::string where = r.key;
    if (!r.bound.empty()) {  // port 0 (tests): the kernel's choice
      where = r.key.starts_with("*:") ? "*:" + std::to_string(r.bound.front().port())
                                      : net::format(r.bound.front());
    }
    // "127.0.0.1:22" for the one route of flags and env vars; "ADDR (NAME), ..." for a file's.
    const bool only_default = routes_.size() == 1 && name == "default";
    out += (out.empty() ? "" : ", ") + where + (only_default ? "" : " (" + name + ")");
  }
  return out;
}

void Routes::forEach(const std::function<void(const RouteState&)>& f) const {
  for (const auto& route : config_.routes) {
    auto it = routes_.find(route.name);
    if (it == routes_.end() || !it->second.shared) continue;
    const Running& r = it->second;
    f(RouteState{r.shared->settings, *r.shared, r.discovery.get(), r.checker.get(), r.bound});
  }
}

}  // namespace edge::app
