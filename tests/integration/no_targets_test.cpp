// No target known (the SRV name does not exist): clients are accepted and closed at once.
#include <gtest/gtest.h>

#include "edge_fixture.h"

namespace edge::test {
namespace {

using NoTargets = EdgeFixture;

TEST_F(NoTargets, ClientIsAcceptedAndClosedAtOnce) {
  Backend& other = add_greet_echo("other");
  DnsRecords records;
  records.srv.push_back(
      {.name = "_other._tcp.svc.test", .target = host_name(other), .port = other.port()});
  records.hosts.push_back({host_name(other), other.address()});
  start_dns(records);
  ASSERT_EQ(dns().dig(kService, "SRV").status, "NXDOMAIN");
  start_edge();

  constexpr int kClients = 3;
  for (int i = 0; i < kClients; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    const auto started = std::chrono::steady_clock::now();
    const IoResult end = client->wait_closed(2s);
    EXPECT_TRUE(end == IoResult::eof || end == IoResult::reset) << to_string(end);
    std::cout << "closed (" << to_string(end) << ") after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - started)
                     .count()
              << " ms\n";
  }
  ASSERT_TRUE(edge().wait_access_log(kClients, kIoTimeout));
  for (const auto& record : edge().access_log()) {
    EXPECT_EQ(record.get("close"), "no_targets");
    EXPECT_EQ(record.get("target"), "-");
    EXPECT_EQ(record.integer("bytes_to_target"), 0);
    EXPECT_EQ(record.integer("bytes_to_client"), 0);
  }
  EXPECT_EQ(other.accepted(), 0);
}

}  // namespace
}  // namespace edge::test
