#pragma once
// What a session borrows from its worker: configuration, targets, health, randomness, logs.
// All of it belongs to one worker thread, except the board (atomic) and the access log.
// Pipes and buffers are pooled here so idle connections hold none.

#include <random>

#include "config/config.h"
#include "discovery/target_board.h"
#include "health/backoff.h"
#include "log/access_log.h"
#include "net/reactor_op.h"
#include "proxy/pipe_pool.h"
#include "proxy/session_list.h"

namespace edge::proxy {

class Session;

struct WorkerContext {
  const config::Config& config;
  const discovery::TargetBoard& board;
  log::AccessLog& access_log;
  health::Backoff backoff;
  std::mt19937_64 rng;
  IntrusiveList<Session> sessions;
  asio::detail::reactor& reactor;  // the worker's epoll reactor, for the pumps' own ops
  PipePool pipes;
  BufferPool buffers;
  bool draining = false;
};

}  // namespace edge::proxy
