#pragma once
// What a session borrows from its worker: configuration, targets, health, randomness, logs,
// connect deadlines, and the pools its pumps draw pipes and buffers from (so idle connections
// hold none).
// All of it belongs to one worker thread, except the board (atomic), the health table (shared
// by every worker, thread-safe), the limits and the access log.

#include <asio/io_context.hpp>
#include <functional>
#include <random>

#include "config/config.h"
#include "discovery/target_board.h"
#include "health/health_table.h"
#include "log/access_log.h"
#include "proxy/connect_deadlines.h"
#include "proxy/connection_limits.h"
#include "proxy/intrusive_list.h"
#include "proxy/pipe_pool.h"
#include "proxy/pump.h"

namespace edge::proxy {

class Session;

struct WorkerContext {
  WorkerContext(asio::io_context& io_context, const config::Config& cfg,
                const discovery::TargetBoard& targets, health::HealthTable& table,
                log::AccessLog::Shard& log, ConnectionLimits& connection_limits)
      : io(io_context),
        config(cfg),
        route(cfg.routes.front()),
        board(targets),
        health_table(table),
        health(table),
        access_log(log),
        limits(connection_limits),
        rng(std::random_device{}()),
        deadlines(io_context, cfg.routes.front().connect_timeout),
        pipes(cfg.pipe_size),
        pump_pools{net::ReactorOp::reactorOf(io_context), pipes, buffers} {}
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  asio::io_context& io;
  const config::Config& config;
  const config::Route& route;
  const discovery::TargetBoard& board;
  health::HealthTable& health_table;   // the process's, shared with every worker: writes
  health::HealthTable::Reader health;  // this worker's lock-free reads of it
  log::AccessLog::Shard& access_log;   // this worker's
  ConnectionLimits& limits;            // the process's; a session releases its place at the end
  std::mt19937_64 rng;
  ConnectDeadlines deadlines;
  IntrusiveList<Session> sessions;
  std::function<void()> on_session_closed;  // after a session left `sessions`
  PipePool pipes;
  BufferPool buffers;
  PumpPools pump_pools;
  bool draining = false;
};

}  // namespace edge::proxy
