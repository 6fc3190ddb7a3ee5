// Case 8: a client stops reading while its backend sends 1 GiB. The daemon holds at most its
// pipes' worth per direction (back-pressure, not buffering), so its resident memory stays
// bounded during the stall; when the client reads again every byte arrives, in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using StalledClient = FaultFixture;

constexpr std::uint64_t kBytes = 1ULL << 30;
constexpr std::uint64_t kSeed = 8;
// Growth allowed over the daemon's resident memory before the connection: a few pipe-sized
// buffers and bookkeeping (measured growth: 32 KiB), far below the 1 GiB sent.
constexpr long kGrowthBoundKib = 16 * 1024 * kMemoryFactor;

TEST_F(StalledClient, MemoryStaysBoundedDuringTheStallAndEveryByteArrivesAfterIt) {
  BackendProcess& backend = add_backend_process(
      {.mode = "source", .greet = "gigabyte\n", .bytes = kBytes, .seed = kSeed});
  DnsRecords records;
  add_target(records, "backend", backend.port());
  start_dns(records);
  start_edge();
  const long before_kib = edge_rss_kib();

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(read_line_exactly(client->fd(), kIoTimeout), "gigabyte");

  // The client reads nothing for 4 s while the backend pushes; the daemon's memory is sampled.
  long peak_kib = 0;
  hold_for(
      [&] {
        peak_kib = std::max(peak_kib, edge_rss_kib());
        return true;
      },
      4s, 100ms);
  std::cout << "daemon RSS " << before_kib << " KiB before, peak " << peak_kib
            << " KiB during the stall (growth " << peak_kib - before_kib << " KiB, bound "
            << kGrowthBoundKib << " KiB)\n";
  EXPECT_LT(peak_kib - before_kib, kGrowthBoundKib);

  // Resume: every byte, in order.
  Fnv1a64 hash;
  std::vector<std::uint8_t> buffer(1 << 16);
  const Until until = Until::in(90s);
  IoResult end = IoResult::ok;
  const auto resumed = std::chrono::steady_clock::now();
  while (end == IoResult::ok) {
    std::size_t got = 0;
    end = recv_some(client->fd(), buffer.data(), buffer.size(), got, until);
    if (end == IoResult::ok) hash.update({buffer.data(), got});
  }
  std::cout << hash.size() << " bytes received in " << elapsed_ms(resumed)
            << " ms after the stall\n";
  EXPECT_EQ(end, IoResult::eof) << to_string(end);
  EXPECT_EQ(hash.size(), kBytes);
  EXPECT_EQ(hash.hash(), stream_hash(kSeed, kBytes));
}

}  // namespace
}  // namespace edge::test
