#pragma once
// What a session borrows from its worker: configuration, targets, health, randomness, logs.
// All of it belongs to one worker thread, except the board (atomic) and the access log.

#include <random>

#include "config/config.h"
#include "discovery/target_board.h"
#include "health/backoff.h"
#include "log/access_log.h"
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
  bool draining = false;
};

}  // namespace edge::proxy
