#pragma once
// Wires discovery, the listener and the worker together and runs until a signal.

#include "config/config.h"

namespace edge::app {

// Returns the process exit status.
int runServer(const config::Config& config);

}  // namespace edge::app
