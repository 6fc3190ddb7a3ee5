#include "app/worker.h"

#include <spdlog/spdlog.h>

#include "net/cidr.h"
#include "proxy/session.h"

namespace edge::app {

Worker::Worker(size_t pipe_size, log::AccessLog::Shard& access_log, proxy::ConnectionLimits& limits)
    : ctx_(io_, pipe_size, access_log, limits),
      on_header_read_([this](proxy::ProxyHeaderReader& reader) { headerRead(reader); }) {}

Worker::~Worker() {
  // A reader's op lives inside it: it must come back (aborted) before the reader may go. The
  // event loop no longer runs here, so its completions are run now.
  if (header_reads_.empty()) return;
  stopHeaderReads(nullptr, "worker stopped before its PROXY header was read");
  io_.restart();
  while (!header_reads_.empty() && io_.poll_one() > 0) {
  }
}

void Worker::setRoute(std::shared_ptr<const proxy::SharedRoute> route) {
  auto& slot = routes_[route->settings.name];
  if (!slot) slot = std::make_unique<Route>();
  if (route->settings.idle_timeout) idle_sweep_.cover(*route->settings.idle_timeout);
  auto& counters = ctx_.metrics.route(route->settings.name);
  slot->context = std::make_shared<proxy::RouteContext>(io_, std::move(route), counters);
}

void Worker::addListener(const std::string& name, std::string key,
                         asio::ip::tcp::acceptor listener) {
  auto it = routes_.find(name);
  if (it == routes_.end() || ctx_.draining) return;  // the listener closes with its acceptor
  Route& route = *it->second;
  auto acceptor = std::make_unique<proxy::Acceptor>(
      io_, std::move(listener),
      [this, &route](net::Socket socket, const net::Endpoint& peer) {
        accepted(route, std::move(socket), peer);
      },
      [this, &route](net::Socket socket, const net::Endpoint& peer) {
        refuse(route, socket, peer, metrics::Limit::Descriptors, proxy::CloseReason::Limit,
               "out of descriptors");
      });
  if (started_) acceptor->start();
  route.listeners.push_back({std::move(key), std::move(acceptor)});
}

void Worker::accepted(Route& route, net::Socket socket, const net::Endpoint& peer) {
  const auto& settings = route.context->settings;
  if (!settings.accept_proxy) return admit(route, std::move(socket), peer);
  // Only a trusted proxy may say who the client is: anyone else is closed before a byte is read.
  if (!net::anyContains(settings.trusted_proxies, peer.address())) {
    return reject(*route.context, socket, peer, proxy::CloseReason::UntrustedProxy,
                  "not in --trusted-proxies");
  }
  if (ctx_.draining) {  // a retired listener's queue: no header read can end in a session now
    return reject(*route.context, socket, peer, proxy::CloseReason::Shutdown,
                  "shutting down before its PROXY header was read");
  }
  header_reads_.pushBack(new proxy::ProxyHeaderReader(ctx_.pump_pools.reactor, route.context,
                                                      std::move(socket), peer, on_header_read_));
}

void Worker::headerRead(proxy::ProxyHeaderReader& reader) {
  header_reads_.remove(&reader);
  std::unique_ptr<proxy::ProxyHeaderReader> owned(&reader);
  const auto& header = reader.header();
  // The route as it is now (a reload may have changed it while the header came in).
  auto it = routes_.find(reader.route()->settings.name);
  if (header && it != routes_.end() && !ctx_.draining) {
    if (header->local) return admit(*it->second, std::move(reader.socket()), reader.peer());
    return admit(*it->second, std::move(reader.socket()), *header->source, header->destination);
  }
  if (header) {  // read, but the route went or the worker drains meanwhile
    return reject(*reader.route(), reader.socket(), reader.peer(), proxy::CloseReason::Shutdown,
                  "route removed or shutting down as its PROXY header was read");
  }
  reject(*reader.route(), reader.socket(), reader.peer(), reader.reason(), reader.error());
}

void Worker::stopHeaderReads(const proxy::RouteContext* route, std::string_view why) {
  header_reads_.forEach([&](proxy::ProxyHeaderReader& reader) {
    if (!route || reader.route()->settings.name == route->settings.name) {
      reader.stop(proxy::CloseReason::Shutdown, std::string(why));
    }
  });
}

void Worker::admit(Route& route, net::Socket socket, const net::Endpoint& client,
                   std::optional<net::Endpoint> destination) {
  const auto& settings = route.context->settings;
  if (!settings.allow.empty() || !settings.deny.empty()) {
    if (net::anyContains(settings.deny, client.address())) {
      return reject(*route.context, socket, client, proxy::CloseReason::Denied, "in --deny");
    }
    if (!settings.allow.empty() && !net::anyContains(settings.allow, client.address())) {
      return reject(*route.context, socket, client, proxy::CloseReason::Denied, "not in --allow");
    }
  }
  if (const auto& limiter = route.context->shared().rate_limiter;
      limiter && !limiter->admit(client.address(), std::chrono::steady_clock::now())) {
    return refuse(route, socket, client, metrics::Limit::RatePerSource,
                  proxy::CloseReason::RateLimited, "--rate-limit-per-source reached");
  }
  switch (ctx_.limits.admit(client)) {
    case proxy::ConnectionLimits::Verdict::Admitted:
      route.context->counters.accepted.add();
      return proxy::Session::start(ctx_, route.context, std::move(socket), client, destination);
    case proxy::ConnectionLimits::Verdict::TotalLimit:
      return refuse(route, socket, client, metrics::Limit::MaxConnections,
                    proxy::CloseReason::Limit, "--max-connections reached");
    case proxy::ConnectionLimits::Verdict::SourceLimit:
      return refuse(route, socket, client, metrics::Limit::PerSource, proxy::CloseReason::Limit,
                    "--max-connections-per-source reached");
  }
}

void Worker::refuse(Route& route, net::Socket& socket, const net::Endpoint& peer,
                    metrics::Limit limit, proxy::CloseReason reason, std::string_view why) {
  route.context->counters.refused[static_cast<size_t>(limit)].add();
  reject(*route.context, socket, peer, reason, why);
}

void Worker::reject(proxy::RouteContext& route, net::Socket& socket, const net::Endpoint& client,
                    proxy::CloseReason reason, std::string_view why) {
  auto& counters = route.counters;
  counters.accepted.add();
  counters.closed[static_cast<size_t>(reason)].add();
  log::AccessRecord record;
  record.ts = std::chrono::system_clock::now();
  record.id = ctx_.nextConnectionId();
  record.route = route.settings.name;
  record.client = client;
  record.reason = reason;
  record.error = why;
  ctx_.access_log.write(record);
  std::error_code ignored;
  socket.close(ignored);
}

std::pair<std::vector<proxy::ConnectionInfo>, size_t> Worker::connections(
    const std::optional<std::string>& route, size_t limit) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<proxy::ConnectionInfo> out;
  size_t matched = 0;
  // The list is in accept order: the first ones are the oldest.
  ctx_.sessions.forEach([&](proxy::Session& session) {
    if (route && session.route()->settings.name != *route) return;
    ++matched;
    if (out.size() < limit) out.push_back(session.info(now));
  });
  return {std::move(out), matched};
}

void Worker::start() {
  ctx_.on_session_closed = [this] {
    if (ctx_.draining && ctx_.sessions.size() == 0) drained();
  };
  started_ = true;
  // The sweep runs from now on: idle times for /connections, progress events, idle timeouts.
  idle_sweep_.start();
  const auto& log_settings = ctx_.access_log.settings();
  if (ctx_.access_log.wants(log::AccessEvent::Progress)) {
    idle_sweep_.cover(*log_settings.progress_interval);
  }
  for (auto& [name, route] : routes_) {
    for (auto& listening : route->listeners) listening.acceptor->start();
  }
}

void Worker::retire(Listening& listening) {
  listening.acceptor->retire();
  retired_.push_back(std::move(listening.acceptor));
}

void Worker::retireListener(const std::string& name, const std::string& key) {
  auto it = routes_.find(name);
  if (it == routes_.end()) return;
  auto& listeners = it->second->listeners;
  for (auto& listening : listeners) {
    if (listening.key == key) retire(listening);
  }
  std::erase_if(listeners, [](const Listening& l) { return !l.acceptor; });
}

size_t Worker::removeRoute(const std::string& name) {
  auto it = routes_.find(name);
  if (it == routes_.end()) return 0;
  for (auto& listening : it->second->listeners) retire(listening);
  const auto* context = it->second->context.get();
  stopHeaderReads(context, "route removed before its PROXY header was read");
  routes_.erase(it);
  size_t open = 0;
  ctx_.sessions.forEach([&](proxy::Session& s) { open += s.route() == context ? 1 : 0; });
  return open;
}

void Worker::stopAccepting() {
  for (auto& [name, route] : routes_) {
    for (auto& listening : route->listeners) {
      listening.acceptor->close();
      retired_.push_back(std::move(listening.acceptor));
    }
    route->listeners.clear();
  }
}

void Worker::drained() {
  drain_timer_.cancel();
  // Nothing may keep the event loop running now: no sweep, no connect deadline.
  idle_sweep_.stop();
  for (auto& [name, route] : routes_) {
    route->context->deadlines.stop();
    route->context->header_deadlines.stop();
  }
  const size_t cut = std::min(cut_, open_at_drain_);
  if (auto done = std::exchange(on_drained_, nullptr)) done({open_at_drain_ - cut, cut});
}

void Worker::drain(std::optional<std::chrono::milliseconds> timeout, bool retire_queued,
                   std::function<void(DrainCount)> on_drained) {
  if (ctx_.draining) return;
  ctx_.draining = true;
  on_drained_ = std::move(on_drained);
  if (retire_queued) {
    for (auto& [name, route] : routes_) {
      for (auto& listening : route->listeners) retire(listening);
      route->listeners.clear();
    }
  } else {
    stopAccepting();
  }
  stopHeaderReads(nullptr, "shutting down before its PROXY header was read");
  open_at_drain_ = ctx_.sessions.size();
  if (open_at_drain_ == 0) return drained();
  if (!timeout) return;  // off: wait for ever (or a second signal)
  drain_timer_.expires_after(*timeout);
  drain_timer_.async_wait([this](std::error_code ec) {
    if (!ec) closeAll();
  });
}

void Worker::closeAll() {
  drain_timer_.cancel();
  if (!closed_all_) {  // a second call (timeout, then a signal) cuts nothing new
    closed_all_ = true;
    cut_ = ctx_.sessions.size();
  }
  stopHeaderReads(nullptr, "shutting down before its PROXY header was read");
  ctx_.sessions.forEach(
      [](proxy::Session& s) { s.abort(proxy::CloseReason::Shutdown, /*send_reset=*/false); });
}

}  // namespace edge::app
