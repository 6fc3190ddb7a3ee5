// Case 10: a peer vanishes with data in flight (all its packets dropped with iptables in the
// test's namespace, both directions). With --user-timeout 3s the daemon gives up on the
// unacknowledged data and closes both sides within 3 s + 5 s, saying which side timed out.
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "fault_fixture.h"
#include "private_network.h"
#include "run_until.h"

namespace edge::test {
namespace {

using VanishedPeer = FaultFixture;

constexpr auto kUserTimeout = 3s;
constexpr auto kBound = kUserTimeout + 5s;

// Both directions of every connection that has `port` at either end.
struct Vanish {
  explicit Vanish(std::uint16_t port)
      : in(std::vector<std::string>{"-p", "tcp", "--dport", std::to_string(port)}),
        out(std::vector<std::string>{"-p", "tcp", "--sport", std::to_string(port)}) {}
  DropRule in, out;
};

TEST_F(VanishedPeer, ClientVanishingMidStreamEndsBothSidesWithClientTimeout) {
  BackendProcess& backend =
      add_backend_process({.mode = "source", .greet = "stream\n", .bytes = 1ULL << 40, .seed = 5});
  DnsRecords records;
  add_target(records, "backend", backend.port());
  start_dns(records);
  start_edge({"--user-timeout", "3s"});

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(read_line_exactly(client->fd(), kIoTimeout), "stream");
  // The client keeps reading (its window stays open) until its packets vanish.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> received{0};
  std::thread reader([&] {
    std::vector<char> buffer(1 << 16);
    while (!stop) {
      std::size_t got = 0;
      if (recv_some(client->fd(), buffer.data(), buffer.size(), got, Until::in(50ms, &stop)) ==
          IoResult::ok) {
        received += got;
      }
    }
  });
  ASSERT_TRUE(run_until([&] { return received > (4u << 20); }, 10s));

  Vanish vanish(client->local_port());
  const auto vanished = std::chrono::steady_clock::now();
  const auto record = wait_record(client->local_port(), kBound);
  const auto closed_ms = elapsed_ms(vanished);
  const bool backend_closed =
      backend.process().wait_for_line(Stream::out, "closed ", 2s).has_value();
  stop = true;
  reader.join();
  ASSERT_TRUE(record) << "the connection did not end within --user-timeout + 5 s";
  std::cout << "closed " << closed_ms
            << " ms after the client vanished: close=" << record->get("close")
            << "; backend's side ended: " << backend_closed << "\n";
  EXPECT_EQ(record->get("close"), "client_timeout");
  EXPECT_LE(closed_ms, std::chrono::milliseconds(kBound).count());
  EXPECT_TRUE(backend_closed) << "the target connection is still open";
}

TEST_F(VanishedPeer, TargetVanishingMidStreamEndsBothSidesWithTargetTimeout) {
  BackendProcess& backend = add_backend_process({.mode = "echo", .greet = "echo\n"});
  DnsRecords records;
  add_target(records, "backend", backend.port());
  start_dns(records);
  start_edge({"--user-timeout", "3s"});

  auto stream = EchoStream::open(edge().port(), 10, 16384, 10ms);
  ASSERT_TRUE(stream);
  stream->start();
  ASSERT_TRUE(run_until([&] { return stream->bytes_received() > (256u << 10); }, 10s));

  Vanish vanish(backend.port());
  const auto vanished = std::chrono::steady_clock::now();
  // The client goes on sending; the daemon's copy to the target is never acknowledged.
  const auto record = wait_record(stream->local_port(), kBound);
  const auto closed_ms = elapsed_ms(vanished);
  const bool client_closed = run_until([&] { return stream->done(); }, 2s);
  ASSERT_TRUE(record) << "the connection did not end within --user-timeout + 5 s";
  std::cout << "closed " << closed_ms
            << " ms after the target vanished: close=" << record->get("close")
            << "; client: " << stream->describe() << "\n";
  EXPECT_EQ(record->get("close"), "target_timeout");
  EXPECT_LE(closed_ms, std::chrono::milliseconds(kBound).count());
  EXPECT_TRUE(client_closed) << "the client connection is still open";
}

}  // namespace
}  // namespace edge::test
