// Case 7: 5,000 concurrent connections, each trickling a few bytes every second for 60 s to an
// echo backend. None is dropped, every echo is byte-exact, and the daemon's resident memory
// stays under a stated bound. One epoll loop drives all the clients (not 5,000 threads).
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <iostream>
#include <map>

#include "fault_fixture.h"
#include "run_until.h"
#include "socket_util.h"

namespace edge::test {
namespace {

using ManyTrickling = FaultFixture;

constexpr int kConnections = 5000;
constexpr auto kDuration = 60s;
constexpr std::size_t kBytesPerTick = 8;  // per connection, every second
// Stated bound: resident memory after start-up plus 4 KiB per connection. Measured (2
// workers): 5.2 MiB at start, 11.5 MiB at the peak, 1.3 KiB per connection; ASan build: 37 MiB
// at start, 2.1 KiB per connection (the bound is scaled by kMemoryFactor there).
constexpr long kPerConnectionKib = 4 * kMemoryFactor;

struct Client {
  UniqueFd fd;
  ByteStream stream{0};
  Fnv1a64 sent, received;
  bool connected = false;
  bool eof = false;
  bool failed = false;
};

TEST_F(ManyTrickling, FiveThousandConnectionsTrickleForAMinuteNoneDroppedMemoryBounded) {
  BackendProcess& backend = add_backend_process({.mode = "echo"});
  DnsRecords records;
  add_target(records, "echo", backend.port());
  start_dns(records);
  start_edge();
  const long base_kib = edge_rss_kib();
  const long bound_kib = base_kib + kConnections * kPerConnectionKib;

  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  ASSERT_TRUE(epoll.valid());
  std::vector<Client> clients(kConnections);
  const sockaddr_in sa = ipv4_address("127.0.0.1", edge().port());

  // Connect in batches of 500 (under the listen backlog), each batch established before the next.
  const auto connect_started = std::chrono::steady_clock::now();
  for (int from = 0; from < kConnections; from += 500) {
    const int to = std::min(kConnections, from + 500);
    for (int i = from; i < to; ++i) {
      Client& c = clients[static_cast<std::size_t>(i)];
      c.stream = ByteStream(7000 + static_cast<std::uint64_t>(i));
      c.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      ASSERT_TRUE(c.fd.valid()) << "socket: " << std::strerror(errno);
      const int rc = ::connect(c.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
      ASSERT_TRUE(rc == 0 || errno == EINPROGRESS) << std::strerror(errno);
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      ASSERT_EQ(::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, c.fd.get(), &ev), 0);
    }
    int pending = to - from;
    std::vector<epoll_event> events(512);
    ASSERT_TRUE(run_until(
        [&] {
          const int n = ::epoll_wait(epoll.get(), events.data(), 512, 10);
          for (int k = 0; k < n; ++k) {
            Client& c = clients[events[k].data.u32];
            int err = 0;
            socklen_t len = sizeof err;
            ::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
            c.connected = err == 0;
            c.failed = err != 0;
            epoll_event in{};
            in.events = EPOLLIN;
            in.data.u32 = events[k].data.u32;
            ::epoll_ctl(epoll.get(), EPOLL_CTL_MOD, c.fd.get(), &in);
            --pending;
          }
          return pending == 0;
        },
        20s, 0ms))
        << pending << " connections of batch " << from << " not established";
  }
  const auto connected =
      std::count_if(clients.begin(), clients.end(), [](const Client& c) { return c.connected; });
  std::cout << connected << " connections established in " << elapsed_ms(connect_started)
            << " ms\n";
  ASSERT_EQ(connected, kConnections);

  // Trickle: send number k (k = 0, 1, ...) is due at start + k * 1 s / N, for connection k % N;
  // so every connection sends kBytesPerTick once a second, spread evenly over the second.
  std::vector<epoll_event> events(1024);
  std::vector<std::uint8_t> buffer(1 << 16);
  int ended_early = 0;
  const auto read_ready = [&](int timeout_ms) {
    const int n = ::epoll_wait(epoll.get(), events.data(), 1024, timeout_ms);
    for (int k = 0; k < n; ++k) {
      Client& c = clients[events[k].data.u32];
      while (true) {
        const ssize_t got = ::recv(c.fd.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
        if (got > 0) {
          c.received.update({buffer.data(), static_cast<std::size_t>(got)});
          continue;
        }
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          if (got != 0) c.failed = true;
          c.eof = true;
          ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
        }
        break;
      }
    }
  };
  const auto started = std::chrono::steady_clock::now();
  const auto total_sends = static_cast<std::uint64_t>(kConnections) * 60;
  std::uint64_t next_send = 0;
  long peak_kib = 0;
  auto next_sample = started;
  std::array<std::uint8_t, kBytesPerTick> tick{};
  while (next_send < total_sends) {
    const auto now = std::chrono::steady_clock::now();
    while (next_send < total_sends &&
           started + std::chrono::microseconds(next_send * 1'000'000 / kConnections) <= now) {
      Client& c = clients[next_send % kConnections];
      ++next_send;
      if (c.eof) continue;
      c.stream.fill(tick);
      const ssize_t n = ::send(c.fd.get(), tick.data(), tick.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n == static_cast<ssize_t>(tick.size())) {
        c.sent.update(tick);
      } else {
        c.failed = true;  // a few bytes always fit unless the connection is gone
      }
    }
    if (now >= next_sample) {
      peak_kib = std::max(peak_kib, edge_rss_kib());
      next_sample = now + 1s;
    }
    read_ready(5);
  }
  std::cout << "trickled for " << elapsed_ms(started) << " ms; daemon RSS " << base_kib
            << " KiB at start, peak " << peak_kib << " KiB ("
            << (peak_kib - base_kib) * 1024 / kConnections << " bytes per connection), bound "
            << bound_kib << " KiB\n";
  EXPECT_LT(peak_kib, bound_kib);
  for (const Client& c : clients) ended_early += c.eof ? 1 : 0;
  EXPECT_EQ(ended_early, 0) << "connections ended before the clients closed them";

  // Every client half-closes; the echo must be complete, then end with a clean EOF.
  for (Client& c : clients) ::shutdown(c.fd.get(), SHUT_WR);
  EXPECT_TRUE(run_until(
      [&] {
        read_ready(10);
        return std::all_of(clients.begin(), clients.end(), [](const Client& c) { return c.eof; });
      },
      30s, 0ms));
  int exact = 0, failed = 0;
  for (const Client& c : clients) {
    exact += c.eof && !c.failed && c.received.size() == c.sent.size() &&
             c.received.hash() == c.sent.hash() && c.sent.size() == 60 * kBytesPerTick;
    failed += c.failed;
  }
  EXPECT_EQ(exact, kConnections) << failed << " failed";
  std::cout << exact << " of " << kConnections << " echoes byte-exact\n";

  ASSERT_TRUE(edge().wait_access_log(kConnections, 30s));
  std::map<std::string, int> reasons;
  for (const auto& record : edge().access_log()) ++reasons[record.get("close")];
  EXPECT_EQ(reasons["client_closed"], kConnections) << describe(reasons);
}

}  // namespace
}  // namespace edge::test
