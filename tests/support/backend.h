// Backend: a real TCP server on loopback that plays the upstream side of the proxy.
//
// Owns its listening socket, one accept thread and one thread per connection (two for
// source_sink). Every blocking step is bounded by a stop flag, so the destructor always
// returns: it stops accepting, ends all connections and joins every thread. Public members may
// be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "byte_stream.h"
#include "socket_io.h"
#include "unique_fd.h"

namespace edge::test {

enum class BackendMode {
  // Writes "<id>\n" on accept, then echoes everything; on EOF from the client it has echoed all
  // it got and then shuts down its write side.
  greet_echo,
  // Sends `source_bytes` of ByteStream(source_seed), then shuts down its write side; meanwhile
  // (concurrently) reads and hashes everything until EOF. Full duplex.
  source_sink,
  // Writes "<id>\n" + `first_words`, shuts down its write side at once, then reads until EOF:
  // tests the half-close that starts at the server.
  speak_first,
};

struct BackendOptions {
  std::string id{};
  BackendMode mode = BackendMode::greet_echo;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port
  std::uint64_t source_bytes = 0;
  std::uint64_t source_seed = 0;
  std::string first_words{};
};

// What one finished connection received and how it ended.
struct ConnectionReport {
  static constexpr std::size_t kTextLimit = 1 << 16;
  std::uint64_t bytes_received = 0;
  std::uint64_t hash_received = Fnv1a64::kOffset;  // FNV-1a 64 of all bytes received
  std::string text_received;                       // the first kTextLimit bytes
  std::uint64_t bytes_sent = 0;
  std::uint64_t hash_sent = Fnv1a64::kOffset;  // FNV-1a 64 of all bytes sent
  IoResult receive_end = IoResult::ok;         // eof when the client half-closed cleanly
  IoResult send_end = IoResult::ok;            // ok when everything meant to be sent was sent
};

class Backend {
 public:
  explicit Backend(BackendOptions options);  // listening on return; throws on failure
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& id() const { return options_.id; }
  const std::string& address() const { return options_.address; }
  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return options_.address + ":" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }

  // Closes the listening socket: from then on connecting to the port is refused.
  void stop_listening();

  std::vector<ConnectionReport> reports() const;  // finished connections, in finishing order
  bool wait_reports(std::size_t count, std::chrono::milliseconds deadline) const;

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void accept_loop();
  void serve(UniqueFd connection);
  void greet_echo(int fd, ConnectionReport& report);
  void source_sink(int fd, ConnectionReport& report);
  void speak_first(int fd, ConnectionReport& report);
  void receive_until_end(int fd, ConnectionReport& report, bool echo);
  void join_finished_workers(bool all);

  BackendOptions options_;
  UniqueFd listener_;  // accept thread only, once running
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::atomic<bool> listening_{true};
  std::atomic<bool> accept_loop_ended_{false};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<ConnectionReport> reports_;  // guarded by mutex_
  std::list<Worker> workers_;              // accept thread and destructor only
  std::thread acceptor_;
};

}  // namespace edge::test
