#pragma once
// One event loop: accepts on its listening sockets (one per route, more during a listen change or
// after an upgrade handed it several) and runs every session it accepted, to the end, on its own
// thread. Owns its io_context, acceptors and sessions; routes' shared parts come from the main
// thread (app/server.cpp), which changes them only through the calls below, posted to this
// worker's thread: the data path never waits for a reload.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/acceptor.h"
#include "proxy/connection_info.h"
#include "proxy/idle_sweep.h"
#include "proxy/intrusive_list.h"
#include "proxy/proxy_header_reader.h"
#include "proxy/route_context.h"
#include "proxy/worker_context.h"

namespace edge::app {

class Worker {
 public:
  Worker(size_t pipe_size, log::AccessLog::Shard& access_log, proxy::ConnectionLimits& limits);
  // Closes the PROXY headers still being read (their completions run here).
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  asio::io_context& io() { return io_; }
  // Capacity of the pipes this worker splices through (0: copies only).
  size_t pipeSize() const { return ctx_.pipes.pipeSize(); }
  // Starts accepting on the listeners added so far; run io() to serve.
  void start();

  // The rest: the worker's thread once it runs (before, the main thread).
  // New connections of the route named route->settings.name get `route` from now on; open ones
  // keep theirs.
  void setRoute(std::shared_ptr<const proxy::SharedRoute> route);
  // Accepts on `listener` for the route `name` (setRoute first). `key` names it for retire().
  void addListener(const std::string& name, std::string key, asio::ip::tcp::acceptor listener);
  // Serves what is queued on the route's listeners named `key`, then closes them.
  void retireListener(const std::string& name, const std::string& key);
  // Retires the route's listeners and forgets the route; its open connections run on (those
  // still sending their PROXY header are closed). Returns how many are open.
  size_t removeRoute(const std::string& name);
  // Closes every listener without retiring it (another process holds the same sockets: it
  // serves what is queued).
  void stopAccepting();

  // How a drain went: connections open when it began that ended by themselves, and those
  // closed by the drain timeout or a second signal.
  struct DrainCount {
    size_t ended = 0;
    size_t cut = 0;
  };
  // Stops accepting; open connections get `timeout` (nullopt: for ever) to finish, then are
  // closed. Connections still sending their PROXY header are closed at once (close=shutdown).
  // `on_drained` runs once the last connection ended. `retire`: serve what is queued first (false
  // after an upgrade handed the listeners over).
  void drain(std::optional<std::chrono::milliseconds> timeout, bool retire,
             std::function<void(DrainCount)> on_drained);
  // Closes every open connection now.
  void closeAll();

  // Up to `limit` open connections (of the route `route` only, if given), oldest first; and how
  // many matched in all. This worker's thread.
  std::pair<std::vector<proxy::ConnectionInfo>, size_t> connections(
      const std::optional<std::string>& route, size_t limit);

  // This worker's counters (any thread may read them).
  const metrics::WorkerMetrics& metrics() const { return ctx_.metrics; }

 private:
  struct Listening {
    std::string key;
    std::unique_ptr<proxy::Acceptor> acceptor;
  };
  struct Route {
    std::shared_ptr<proxy::RouteContext> context;  // for new connections
    std::vector<Listening> listeners;
  };

  // A new connection from `peer`; with --accept-proxy its PROXY header is read first (peer in
  // --trusted-proxies only).
  void accepted(Route& route, net::Socket socket, const net::Endpoint& peer);
  // A PROXY header reader ended: the client it names is admitted, or the connection closed.
  void headerRead(proxy::ProxyHeaderReader& reader);
  // Ends the pending header reads (of the route `route` only, if given) with close=shutdown.
  void stopHeaderReads(const proxy::RouteContext* route, std::string_view why);
  // Admission of a client whose address is known (the peer's, or the PROXY header's): allow and
  // deny lists, rate limit, connection limits; then its session starts.
  // `destination`: the address the client connected to, from its PROXY header (nullopt: the
  // socket's own local address), for --send-proxy.
  void admit(Route& route, net::Socket socket, const net::Endpoint& client,
             std::optional<net::Endpoint> destination = std::nullopt);
  // Closes a client at once for a limit (counted as one), with `reason` and `why` in the log.
  void refuse(Route& route, net::Socket& socket, const net::Endpoint& peer, metrics::Limit limit,
              proxy::CloseReason reason, std::string_view why);
  // Closes a client at once, before any target is contacted: counted as accepted and closed for
  // `reason`, one access-log close event with `why`.
  void reject(proxy::RouteContext& route, net::Socket& socket, const net::Endpoint& client,
              proxy::CloseReason reason, std::string_view why);
  void retire(Listening& listening);
  void drained();

  asio::io_context io_{1};
  proxy::WorkerContext ctx_;
  std::map<std::string, std::unique_ptr<Route>, std::less<>> routes_;  // stable addresses
  // Closed acceptors, kept until the worker goes: a cancelled accept may still complete.
  std::vector<std::unique_ptr<proxy::Acceptor>> retired_;
  proxy::IdleSweep idle_sweep_{ctx_};
  // Connections whose PROXY header is being read (--accept-proxy); each deleted in headerRead.
  std::function<void(proxy::ProxyHeaderReader&)> on_header_read_;
  proxy::IntrusiveList<proxy::ProxyHeaderReader> header_reads_;
  asio::steady_timer drain_timer_{io_};
  std::function<void(DrainCount)> on_drained_;
  size_t open_at_drain_ = 0;
  size_t cut_ = 0;
  bool started_ = false;
  bool closed_all_ = false;
};

}  // namespace edge::app
