// The configuration loader (config/load.h) with arbitrary bytes as the --config file: the TOML
// parser (toml++, compiled in), the file's shape checks, [[route]] tables and every option's
// value check in the option table. A file that loads must round-trip: written back with
// toToml (what `edge-connector check` prints) and loaded again it gives the same configuration.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/load.h"
#include "config/toml_writer.h"
#include "fuzz_check.h"

namespace {

using edge::config::LoadResult;

// The file's content lives in a memfd (no disk, no clean-up); the loader opens it by path.
LoadResult loadBytes(const void* data, size_t size) {
  static const int fd = memfd_create("edge-fuzz-config", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(size == 0 || pwrite(fd, data, size, 0) == static_cast<ssize_t>(size));
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  const char* argv[] = {"edge-connector", "--config", path.c_str()};
  return edge::config::load(3, argv, [](const char*) -> const char* { return nullptr; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The loader refuses files above kMaxConfigBytes before parsing; nothing to learn past it.
  if (size > 64 * 1024) return 0;
  const auto first = loadBytes(data, size);
  // EDGE_FUZZ_VERBOSE=1 shows what the loader said about an input (seeds, a crash input).
  static const bool verbose = std::getenv("EDGE_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    for (const auto& line : first.errors) std::fprintf(stderr, "error: %s\n", line.c_str());
    std::fprintf(stderr, "%s\n", first.config ? "loaded" : "refused");
  }
  if (!first.config) {
    FUZZ_CHECK(first.exit_code == 2 && !first.errors.empty());
    return 0;
  }
  FUZZ_CHECK(first.errors.empty() && !first.config->routes.empty());
  (void)edge::config::describe(*first.config);

  const std::string written = edge::config::toToml(*first.config);
  const auto second = loadBytes(written.data(), written.size());
  if (!second.config) {
    for (const auto& line : second.errors) std::fprintf(stderr, "reload: %s\n", line.c_str());
    std::fprintf(stderr, "written:\n%s\n", written.c_str());
  }
  FUZZ_CHECK(second.config.has_value());
  FUZZ_CHECK(edge::config::toToml(*second.config) == written);
  return 0;
}
