#pragma once
// What a session borrows from its worker: the event loop, logs, limits, randomness, the list of
// live sessions, and the pools its pumps draw pipes and buffers from (so idle connections hold
// none). What belongs to the session's route (settings, targets, health, connect deadlines) is
// in its RouteContext (proxy/route_context.h).
// All of it belongs to one worker thread, except the limits and the access log's writer.

#include <asio/io_context.hpp>
#include <functional>
#include <random>

#include "log/access_log.h"
#include "log/connection_id.h"
#include "metrics/worker_metrics.h"
#include "proxy/connection_limits.h"
#include "proxy/intrusive_list.h"
#include "proxy/pipe_pool.h"
#include "proxy/pump.h"

namespace edge::proxy {

class Session;

struct WorkerContext {
  WorkerContext(asio::io_context& io_context, size_t pipe_size, log::AccessLog::Shard& log,
                ConnectionLimits& connection_limits)
      : io(io_context),
        access_log(log),
        limits(connection_limits),
        last_connection_id(log::connectionIdBase(log.index())),
        rng(std::random_device{}()),
        pipes(pipe_size),
        pump_pools{net::ReactorOp::reactorOf(io_context), pipes, buffers} {}
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  // A new connection id (log/connection_id.h): the worker's index (its access-log shard's) in
  // the top bits, this worker's own count below, so no id is shared state.
  uint64_t nextConnectionId() { return ++last_connection_id; }

  asio::io_context& io;
  log::AccessLog::Shard& access_log;  // this worker's
  ConnectionLimits& limits;           // the process's; a session releases its place at the end
  uint64_t last_connection_id;
  std::mt19937_64 rng;
  metrics::WorkerMetrics metrics;  // this worker's counters, read by scrapes
  IntrusiveList<Session> sessions;
  std::function<void()> on_session_closed;  // after a session left `sessions`
  PipePool pipes;
  BufferPool buffers;
  PumpPools pump_pools;
  bool draining = false;
};

}  // namespace edge::proxy
