// BackendProcess: test_backend (tests/support/test_backend.cpp) in its own process, for tests
// that SIGKILL a backend, start one again on the same port, or need thousands of connections
// served by one epoll loop. Owns the Subprocess; the destructor kills it. Test main thread only
// (the child dies with the thread that started it).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "logfmt.h"
#include "subprocess.h"

namespace edge::test {

std::string test_backend_binary();

struct BackendProcessOptions {
  std::string mode = "echo";  // echo | source | silent
  std::string greet{};        // written first on every connection (not in silent mode)
  std::uint16_t port = 0;     // 0: any free port
  std::uint64_t bytes = 0;    // source mode
  std::uint64_t seed = 0;     // source mode
};

class BackendProcess {
 public:
  // Listening on return; throws std::runtime_error otherwise.
  explicit BackendProcess(BackendProcessOptions options);

  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  Subprocess& process() { return *process_; }

  // One record per finished connection: bytes_in, hash_in, bytes_out, hash_out, end.
  std::vector<LogfmtRecord> reports() const;

 private:
  std::unique_ptr<Subprocess> process_;
  std::uint16_t port_ = 0;
};

}  // namespace edge::test
