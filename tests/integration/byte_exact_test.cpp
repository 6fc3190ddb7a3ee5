// Byte-exact transfer: 256 MiB each way at the same time through one proxied connection,
// checked by size and FNV-1a 64 hash computed independently at both ends.
#include <gtest/gtest.h>

#include "byte_stream.h"
#include "edge_fixture.h"
#include "transfer.h"

namespace edge::test {
namespace {

using ByteExact = EdgeFixture;

constexpr std::uint64_t kBytes = 256ULL << 20;  // each way
constexpr std::uint64_t kUploadSeed = 0x5eed0001;
constexpr std::uint64_t kDownloadSeed = 0x5eed0002;
constexpr std::chrono::seconds kBudget{60};

TEST_F(ByteExact, QuarterGibibyteEachWayAtOnce) {
  Backend& backend = add_backend({.id = "bulk",
                                  .mode = BackendMode::source_sink,
                                  .source_bytes = kBytes,
                                  .source_seed = kDownloadSeed});
  DnsRecords records;
  add_srv(records, backend);
  start_dns(std::move(records));
  start_edge();

  const auto started = std::chrono::steady_clock::now();
  const Until until{started + kBudget};
  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);

  const auto result = run_transfer(client->fd(), kBytes, kUploadSeed, until);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::cout << "2 x 256 MiB through edge-connector in " << seconds.count() << " s\n";

  EXPECT_EQ(result.send_end, IoResult::ok) << to_string(result.send_end);
  EXPECT_EQ(result.receive_end, IoResult::eof) << to_string(result.receive_end);
  ASSERT_TRUE(backend.wait_reports(1, 10s));
  const ConnectionReport report = backend.reports().front();
  // Upload: what the client hashed while sending == what the backend hashed on receipt.
  EXPECT_EQ(report.bytes_received, kBytes);
  EXPECT_EQ(report.hash_received, result.sent_hash);
  EXPECT_EQ(report.receive_end, IoResult::eof);
  // Download: what the backend hashed while sending == what the client hashed on receipt.
  EXPECT_EQ(report.bytes_sent, kBytes);
  EXPECT_EQ(result.received, kBytes);
  EXPECT_EQ(result.received_hash, report.hash_sent);

  ASSERT_TRUE(edge().wait_access_log(1, 5s));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.integer("bytes_to_target"), static_cast<long long>(kBytes));
  EXPECT_EQ(record.integer("bytes_to_client"), static_cast<long long>(kBytes));
  const auto close = record.get("close");
  EXPECT_TRUE(close == "client_closed" || close == "target_closed") << close;
}

}  // namespace
}  // namespace edge::test
