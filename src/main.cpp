// edge-connector: parse the configuration, run the server. Nothing else lives here.

#include <ares.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

#include "app/server.h"
#include "config/load.h"
#include "log/logging.h"

int main(int argc, char** argv) {
  const auto env = [](const char* name) -> const char* { return std::getenv(name); };
  auto loaded = edge::config::load(argc, argv, env);
  if (!loaded.config) {
    std::fputs(loaded.output.c_str(), stdout);
    for (const auto& line : loaded.errors) std::fprintf(stderr, "%s\n", line.c_str());
    return loaded.exit_code;
  }
  const auto& config = *loaded.config;
  edge::log::setupLogging(config.log_level);
  for (const auto& note : loaded.notes) spdlog::warn("{}", note);
  spdlog::info("edge-connector {} starting: {}", EDGE_VERSION, edge::config::describe(config));

  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
    spdlog::error("c-ares initialisation failed: {}", ares_strerror(rc));
    return 1;
  }
  const int status =
      edge::app::runServer(config, [&] { return edge::config::load(argc, argv, env); });
  ares_library_cleanup();
  spdlog::shutdown();
  return status;
}
