// edge-connector: parse the configuration, run the server (or a sub-command: check,
// healthcheck). Nothing else lives here.

#include <ares.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "app/healthcheck.h"
#include "app/server.h"
#include "config/load.h"
#include "config/toml_writer.h"
#include "log/logging.h"

namespace {

const char* envLookup(const char* name) {
  return std::getenv(name);
}

// `edge-connector check [--config FILE] [flags]`: validate and print the effective
// configuration as TOML (exit 0), or the error lines (exit 2). Starts nothing.
int check(int argc, char** argv) {
  std::vector<const char*> args{argv[0]};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  auto loaded = edge::config::load(static_cast<int>(args.size()), args.data(), envLookup);
  if (!loaded.config) {
    std::fputs(loaded.output.c_str(), stdout);
    for (const auto& line : loaded.errors) std::fprintf(stderr, "%s\n", line.c_str());
    return loaded.exit_code;
  }
  for (const auto& note : loaded.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::fputs(edge::config::toToml(*loaded.config).c_str(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "check") == 0) return check(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "healthcheck") == 0) {
    return edge::app::healthcheck(argc, argv, envLookup);
  }
  auto loaded = edge::config::load(argc, argv, envLookup);
  if (!loaded.config) {
    std::fputs(loaded.output.c_str(), stdout);
    for (const auto& line : loaded.errors) std::fprintf(stderr, "%s\n", line.c_str());
    return loaded.exit_code;
  }
  const auto& config = *loaded.config;
  edge::log::setupLogging(config.log_level, config.log_format);
  for (const auto& note : loaded.notes) spdlog::warn("{}", note);
  const auto lines = edge::config::describeLines(config);
  spdlog::info("edge-connector {} starting: {}", EDGE_VERSION, lines.front());
  for (size_t i = 1; i < lines.size(); ++i) spdlog::info("{}", lines[i]);

  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
    spdlog::error("c-ares initialisation failed: {}", ares_strerror(rc));
    return 1;
  }
  const int status =
      edge::app::runServer(config, [&] { return edge::config::load(argc, argv, envLookup); });
  ares_library_cleanup();
  spdlog::shutdown();
  return status;
}
