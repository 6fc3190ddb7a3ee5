#pragma once
// Wires discovery, the listener and the worker together and runs until a signal.

#include <functional>

#include "config/config.h"
#include "config/load.h"

namespace edge::app {

// Reads the configuration again, as at start-up (SIGHUP).
using Reload = std::function<config::LoadResult()>;

// Returns the process exit status.
int runServer(const config::Config& config, const Reload& reload);

}  // namespace edge::app
