#include "fault_fixture.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "run_until.h"
#include "socket_util.h"

namespace edge::test {

long resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

std::optional<std::string> read_line_exactly(int fd, std::chrono::milliseconds timeout,
                                             IoResult* end) {
  const Until until = Until::in(timeout);
  std::string line;
  IoResult ignored;
  IoResult& result = end != nullptr ? *end : ignored;
  while (line.size() < 4096) {
    char c = 0;
    std::size_t got = 0;
    result = recv_some(fd, &c, 1, got, until);
    if (result != IoResult::ok) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
  return std::nullopt;
}

UniqueFd connect_from(const std::string& source, std::uint16_t port,
                      std::chrono::milliseconds timeout) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw_errno("socket");
  const sockaddr_in from = ipv4_address(source, 0);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0) {
    throw_errno("bind " + source);
  }
  const sockaddr_in to = ipv4_address("127.0.0.1", port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    if (errno != EINPROGRESS) return {};
    if (wait_ready(fd.get(), POLLOUT, Until::in(timeout)) != IoResult::ok) return {};
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) return {};
  }
  return fd;
}

long long elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

std::unique_ptr<EchoStream> EchoStream::open(std::uint16_t port, std::uint64_t seed,
                                             std::size_t chunk, std::chrono::milliseconds pace) {
  auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout);
  if (!client) return nullptr;
  auto greeting = client->read_line(kIoTimeout);
  if (!greeting) return nullptr;
  std::unique_ptr<EchoStream> stream(new EchoStream(std::move(*client), seed, chunk, pace));
  stream->greeting_ = *greeting;
  return stream;
}

EchoStream::~EchoStream() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void EchoStream::start() {
  thread_ = std::thread([this] { run(); });
}

bool EchoStream::finish(std::chrono::milliseconds deadline) {
  stop_ = true;
  return run_until([this] { return done_.load(); }, deadline);
}

bool EchoStream::byte_exact() const {
  return done_ && end_ == IoResult::eof && received_.size() == sent_.size() &&
         received_.hash() == sent_.hash();
}

std::string EchoStream::describe() const {
  std::ostringstream out;
  out << "port " << local_port() << ": sent " << sent_bytes_ << ", echoed " << received_bytes_
      << (done_ ? std::string(", ended with ") + to_string(end_) : std::string(", still open"))
      << (done_ && received_.hash() != sent_.hash() ? " (hash differs)" : "");
  return out.str();
}

// One loop, both directions: a chunk goes out every pace_ while the echo is read as it comes;
// after stop_, the last chunk goes out, then FIN, then everything until the backend's FIN.
void EchoStream::run() {
  const int fd = client_->fd();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  ByteStream stream(seed_);
  std::vector<std::uint8_t> out(chunk_), in(1 << 16);
  std::size_t out_left = 0, out_at = 0;
  auto next_chunk = std::chrono::steady_clock::now();
  bool shut = false;
  while (std::chrono::steady_clock::now() < give_up) {
    const auto now = std::chrono::steady_clock::now();
    if (out_left == 0 && !shut) {
      if (stop_) {
        ::shutdown(fd, SHUT_WR);
        shut = true;
      } else if (now >= next_chunk) {
        stream.fill(out);
        sent_.update(out);
        out_left = out.size();
        out_at = 0;
        next_chunk = now + pace_;
      }
    }
    pollfd p{fd, static_cast<short>(POLLIN | (out_left > 0 ? POLLOUT : 0)), 0};
    const auto wait = out_left > 0 || shut
                          ? std::chrono::milliseconds(50)
                          : std::chrono::duration_cast<std::chrono::milliseconds>(next_chunk - now);
    ::poll(&p, 1, static_cast<int>(std::clamp<long long>(wait.count(), 0, 50)));
    if (out_left > 0) {
      const ssize_t n = ::send(fd, out.data() + out_at, out_left, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        out_at += static_cast<std::size_t>(n);
        out_left -= static_cast<std::size_t>(n);
        sent_bytes_ += static_cast<std::uint64_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        end_ = IoResult::reset;
        break;
      }
    }
    const ssize_t n = ::recv(fd, in.data(), in.size(), MSG_DONTWAIT);
    if (n > 0) {
      received_.update({in.data(), static_cast<std::size_t>(n)});
      received_bytes_ += static_cast<std::uint64_t>(n);
    } else if (n == 0) {
      end_ = IoResult::eof;
      break;
    } else if (errno != EAGAIN && errno != EINTR) {
      end_ = IoResult::reset;
      break;
    }
  }
  if (end_ == IoResult::ok) end_ = IoResult::timeout;
  done_ = true;
}

void FaultFixture::TearDown() {
  EdgeFixture::TearDown();
  if (HasFailure()) {
    for (const auto& backend : backend_processes_) {
      for (const auto& line : backend->process().lines_err()) {
        std::cout << "  test_backend " << backend->port() << ": " << line << "\n";
      }
    }
  }
}

BackendProcess& FaultFixture::add_backend_process(BackendProcessOptions options) {
  backend_processes_.push_back(std::make_unique<BackendProcess>(std::move(options)));
  return *backend_processes_.back();
}

void FaultFixture::add_target(DnsRecords& records, const std::string& id, std::uint16_t port) {
  records.srv.push_back({.name = kService, .target = id + ".svc.test", .port = port});
  records.hosts.push_back({.name = id + ".svc.test", .address = "127.0.0.1"});
}

std::size_t FaultFixture::log_count(const std::string& text) const {
  return edge_->process().count_lines(Stream::err, text);
}

std::size_t FaultFixture::log_count_all(const std::vector<std::string>& parts) const {
  std::size_t count = 0;
  for (const auto& line : edge_->stderr_lines()) {
    count += std::all_of(parts.begin(), parts.end(), [&](const std::string& part) {
      return line.find(part) != std::string::npos;
    });
  }
  return count;
}

std::optional<LogfmtRecord> FaultFixture::wait_record(std::uint16_t client_port,
                                                      std::chrono::milliseconds deadline) const {
  const std::string client = "127.0.0.1:" + std::to_string(client_port);
  std::optional<LogfmtRecord> found;
  run_until(
      [&] {
        for (auto& record : edge_->access_log()) {
          if (record.get("client") == client) found = std::move(record);
        }
        return found.has_value();
      },
      deadline);
  return found;
}

}  // namespace edge::test
