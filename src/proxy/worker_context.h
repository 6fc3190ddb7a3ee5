#pragma once
// What a session borrows from its worker: configuration, targets, health, randomness, logs,
// connect deadlines, and the pools its pumps draw pipes and buffers from (so idle connections
// hold none).
// All of it belongs to one worker thread, except the board (atomic), the limits and the access log.

#include <asio/io_context.hpp>
#include <functional>
#include <random>

#include "config/config.h"
#include "discovery/target_board.h"
#include "health/backoff.h"
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
                const discovery::TargetBoard& targets, log::AccessLog::Shard& log,
                ConnectionLimits& connection_limits)
      : io(io_context),
        config(cfg),
        board(targets),
        access_log(log),
        limits(connection_limits),
        backoff(cfg.refused_backoff),
        rng(std::random_device{}()),
        deadlines(io_context, cfg.connect_timeout),
        pipes(cfg.pipe_size),
        pump_pools{net::ReactorOp::reactorOf(io_context), pipes, buffers} {}
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  asio::io_context& io;
  const config::Config& config;
  const discovery::TargetBoard& board;
  log::AccessLog::Shard& access_log;  // this worker's
  ConnectionLimits& limits;           // the process's; a session releases its place at the end
  health::Backoff backoff;
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
