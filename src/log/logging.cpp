#include "log/logging.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace edge::log {

void setupLogging(const std::string& level) {
  // Access-log queue: 8192 lines (~3 MiB, allocated up front) absorb a burst while stdout is
  // slow; beyond that the oldest lines are dropped rather than stalling forwarding.
  spdlog::init_thread_pool(8192, 1);
  auto logger = spdlog::stderr_logger_mt("edge");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace edge::log
