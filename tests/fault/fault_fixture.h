// FaultFixture: EdgeFixture (tests/integration) plus what the fault cases share: backends in
// their own processes, SRV records for them, the daemon's resident memory, and echo streams
// that keep bytes flowing through the daemon while a fault is injected.
// Test main thread only, except EchoStream (one thread of its own per stream).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "backend_process.h"
#include "byte_stream.h"
#include "client.h"
#include "edge_fixture.h"

namespace edge::test {

// Sanitizer builds (ASan, TSan) use several times the memory of a normal build: memory bounds
// are scaled by this factor there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
inline constexpr long kMemoryFactor = 6;
#else
inline constexpr bool kSanitized = false;
inline constexpr long kMemoryFactor = 1;
#endif

// The resident set (VmRSS) of `pid` in KiB, or -1 if it cannot be read.
long resident_kib(pid_t pid);

// A line (without '\n') read one byte at a time, so not a byte past it is consumed: what
// follows belongs to a stream the caller hashes. nullopt on EOF, error or timeout.
std::optional<std::string> read_line_exactly(int fd, std::chrono::milliseconds timeout,
                                             IoResult* end = nullptr);

// A TCP connection from `source` (e.g. 127.0.0.2: the whole 127/8 is local on loopback) to
// 127.0.0.1:`port`, non-blocking; an invalid fd if it was not established within `timeout`.
UniqueFd connect_from(const std::string& source, std::uint16_t port,
                      std::chrono::milliseconds timeout);

// Milliseconds since `since`.
long long elapsed_ms(std::chrono::steady_clock::time_point since);

// One client connection through the daemon to an echo backend, pumped by its own thread:
// sends `chunk` bytes of ByteStream(seed) every `pace` and reads the echo, until finish();
// then half-closes and reads to the end. Byte-exact means every byte sent came back, in order.
class EchoStream {
 public:
  // Connects to 127.0.0.1:`port` and reads the backend's greeting line; nullptr if either fails.
  static std::unique_ptr<EchoStream> open(
      std::uint16_t port, std::uint64_t seed, std::size_t chunk = 4096,
      std::chrono::milliseconds pace = std::chrono::milliseconds(20));
  ~EchoStream();

  const std::string& greeting() const { return greeting_; }
  std::uint16_t local_port() const { return client_->local_port(); }
  int fd() const { return client_->fd(); }

  void start();
  // Half-closes after the current chunk and waits (at most `deadline`) for the end.
  bool finish(std::chrono::milliseconds deadline);

  std::uint64_t bytes_sent() const { return sent_bytes_.load(); }
  std::uint64_t bytes_received() const { return received_bytes_.load(); }
  bool done() const { return done_.load(); }
  // Every byte sent came back, and the stream ended with a clean EOF.
  bool byte_exact() const;
  std::string describe() const;

 private:
  EchoStream(TcpClient client, std::uint64_t seed, std::size_t chunk,
             std::chrono::milliseconds pace)
      : client_(std::make_unique<TcpClient>(std::move(client))),
        seed_(seed),
        chunk_(chunk),
        pace_(pace) {}
  void run();

  std::unique_ptr<TcpClient> client_;
  std::string greeting_;
  std::uint64_t seed_;
  std::size_t chunk_;
  std::chrono::milliseconds pace_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> sent_bytes_{0}, received_bytes_{0};
  Fnv1a64 sent_, received_;  // the pump thread's until done_
  IoResult end_ = IoResult::ok;
  std::thread thread_;
};

class FaultFixture : public EdgeFixture {
 protected:
  void TearDown() override;

  BackendProcess& add_backend_process(BackendProcessOptions options);
  // An SRV record under kService for "<id>.svc.test" on `port`, and its A record (127.0.0.1).
  static void add_target(DnsRecords& records, const std::string& id, std::uint16_t port);

  // Lines of the daemon's stderr containing `text`.
  std::size_t log_count(const std::string& text) const;
  // Lines of the daemon's stderr containing every one of `parts`.
  std::size_t log_count_all(const std::vector<std::string>& parts) const;
  // The access-log record of the client whose local port is `client_port`, once there is one.
  std::optional<LogfmtRecord> wait_record(std::uint16_t client_port,
                                          std::chrono::milliseconds deadline) const;
  long edge_rss_kib() const { return resident_kib(edge_->process().pid()); }

  std::vector<std::unique_ptr<BackendProcess>> backend_processes_;
};

}  // namespace edge::test
