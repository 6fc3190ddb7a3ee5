#include "backend.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "run_until.h"
#include "socket_util.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

// Connections live as long as the test wants; the stop flag is what ends them.
constexpr std::chrono::minutes kConnectionLifetime{5};
constexpr std::size_t kChunk = 1 << 16;

void record_received(ConnectionReport& report, const std::uint8_t* data, std::size_t size,
                     Fnv1a64& hasher) {
  hasher.update({data, size});
  report.bytes_received += size;
  if (report.text_received.size() < ConnectionReport::kTextLimit) {
    const std::size_t room = ConnectionReport::kTextLimit - report.text_received.size();
    report.text_received.append(reinterpret_cast<const char*>(data), std::min(room, size));
  }
}

}  // namespace

Backend::Backend(BackendOptions options) : options_(std::move(options)) {
  listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listener_.valid()) throw_errno("socket");
  const sockaddr_in sa = ipv4_address(options_.address, options_.port);
  if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0) {
    throw_errno("bind " + options_.address + ":" + std::to_string(options_.port));
  }
  if (::listen(listener_.get(), 512) != 0) throw_errno("listen");
  port_ = local_port(listener_.get());
  acceptor_ = std::thread([this] { accept_loop(); });
}

Backend::~Backend() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  join_finished_workers(true);
}

void Backend::stop_listening() {
  listening_ = false;
  run_until([this] { return accept_loop_ended_.load(); }, 5s, 5ms);
}

std::vector<ConnectionReport> Backend::reports() const {
  std::lock_guard lock(mutex_);
  return reports_;
}

bool Backend::wait_reports(std::size_t count, std::chrono::milliseconds deadline) const {
  return run_until(
      [&] {
        std::lock_guard lock(mutex_);
        return reports_.size() >= count;
      },
      deadline);
}

void Backend::accept_loop() {
  while (!stop_ && listening_) {
    join_finished_workers(false);
    if (wait_ready(listener_.get(), POLLIN, Until::in(50ms)) != IoResult::ok) continue;
    // Accept everything queued: a burst of clients must not wait for the next poll.
    for (int i = 0; i < 512; ++i) {
      UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!connection.valid()) break;
      set_nonblocking(connection.get());
      ++accepted_;
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::thread thread([this, done, fd = std::move(connection)]() mutable {
        serve(std::move(fd));
        *done = true;
      });
      workers_.push_back({std::move(thread), std::move(done)});
    }
  }
  listener_.reset();
  accept_loop_ended_ = true;
}

void Backend::join_finished_workers(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Backend::serve(UniqueFd connection) {
  ConnectionReport report;
  switch (options_.mode) {
    case BackendMode::greet_echo:
      greet_echo(connection.get(), report);
      break;
    case BackendMode::source_sink:
      source_sink(connection.get(), report);
      break;
    case BackendMode::speak_first:
      speak_first(connection.get(), report);
      break;
  }
  connection.reset();  // closed before the report is visible, so tests see a finished socket
  std::lock_guard lock(mutex_);
  reports_.push_back(std::move(report));
}

void Backend::receive_until_end(int fd, ConnectionReport& report, bool echo) {
  std::vector<std::uint8_t> buffer(kChunk);
  Fnv1a64 hasher;
  const Until until = Until::in(kConnectionLifetime, &stop_);
  while (true) {
    std::size_t got = 0;
    report.receive_end = recv_some(fd, buffer.data(), buffer.size(), got, until);
    if (report.receive_end != IoResult::ok) break;
    record_received(report, buffer.data(), got, hasher);
    if (echo) {
      report.send_end = send_all(fd, buffer.data(), got, until);
      if (report.send_end != IoResult::ok) break;
      report.bytes_sent += got;
    }
  }
  report.hash_received = hasher.hash();
}

void Backend::greet_echo(int fd, ConnectionReport& report) {
  const std::string greeting = options_.id + "\n";
  const Until until = Until::in(kConnectionLifetime, &stop_);
  report.send_end = send_all(fd, greeting.data(), greeting.size(), until);
  if (report.send_end != IoResult::ok) return;
  report.bytes_sent = greeting.size();
  receive_until_end(fd, report, /*echo=*/true);
  if (report.receive_end == IoResult::eof) ::shutdown(fd, SHUT_WR);
}

void Backend::source_sink(int fd, ConnectionReport& report) {
  ConnectionReport received;
  std::thread reader([&] { receive_until_end(fd, received, /*echo=*/false); });
  ByteStream stream(options_.source_seed);
  Fnv1a64 sent;
  std::vector<std::uint8_t> chunk(kChunk);
  const Until until = Until::in(kConnectionLifetime, &stop_);
  std::uint64_t left = options_.source_bytes;
  while (left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
    stream.fill({chunk.data(), n});
    sent.update({chunk.data(), n});
    report.send_end = send_all(fd, chunk.data(), n, until);
    if (report.send_end != IoResult::ok) break;
    report.bytes_sent += n;
    left -= n;
  }
  report.hash_sent = sent.hash();
  if (report.send_end == IoResult::ok) ::shutdown(fd, SHUT_WR);
  reader.join();
  report.bytes_received = received.bytes_received;
  report.hash_received = received.hash_received;
  report.text_received = std::move(received.text_received);
  report.receive_end = received.receive_end;
}

void Backend::speak_first(int fd, ConnectionReport& report) {
  const std::string words = options_.id + "\n" + options_.first_words;
  report.send_end = send_all(fd, words.data(), words.size(), Until::in(10s, &stop_));
  if (report.send_end != IoResult::ok) return;
  report.bytes_sent = words.size();
  ::shutdown(fd, SHUT_WR);
  receive_until_end(fd, report, /*echo=*/false);
}

}  // namespace edge::test
