#include "proxy/connection_limits.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace edge::proxy {
namespace {

using Verdict = ConnectionLimits::Verdict;

net::Endpoint from(const char* address, uint16_t port = 40000) {
  return {asio::ip::make_address(address), port};
}

TEST(ConnectionLimits, TheTotalLimitRefusesTheNextClientAndReadmitsAfterAClose) {
  ConnectionLimits limits(2, std::nullopt);
  EXPECT_EQ(limits.admit(from("10.0.0.1")), Verdict::Admitted);
  EXPECT_EQ(limits.admit(from("10.0.0.2")), Verdict::Admitted);
  EXPECT_EQ(limits.admit(from("10.0.0.3")), Verdict::TotalLimit);
  EXPECT_EQ(limits.open(), 2u);  // a refusal takes no place
  EXPECT_EQ(limits.refused(), 1u);
  limits.release(from("10.0.0.1"));
  EXPECT_EQ(limits.admit(from("10.0.0.3")), Verdict::Admitted);
}

TEST(ConnectionLimits, ThePerSourceLimitCountsEachAddressAloneWhateverThePort) {
  ConnectionLimits limits(100, 2);
  EXPECT_EQ(limits.admit(from("127.0.0.2", 1)), Verdict::Admitted);
  EXPECT_EQ(limits.admit(from("127.0.0.2", 2)), Verdict::Admitted);
  EXPECT_EQ(limits.admit(from("127.0.0.2", 3)), Verdict::SourceLimit);
  EXPECT_EQ(limits.admit(from("127.0.0.3", 1)), Verdict::Admitted);  // another source
  EXPECT_EQ(limits.open(), 3u);
  limits.release(from("127.0.0.2", 1));
  EXPECT_EQ(limits.admit(from("127.0.0.2", 4)), Verdict::Admitted);
}

TEST(ConnectionLimits, AnIpv4ClientIsOneSourceWhetherItArrivesMappedOrNot) {
  ConnectionLimits limits(100, 1);
  EXPECT_EQ(limits.admit(from("192.0.2.7")), Verdict::Admitted);
  EXPECT_EQ(limits.admit(from("::ffff:192.0.2.7")), Verdict::SourceLimit);
}

TEST(ConnectionLimits, SourcesWithNoOpenConnectionAreForgotten) {
  ConnectionLimits limits(100'000, 5);
  for (int i = 0; i < 1000; ++i) {
    const auto ep =
        from(("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)).c_str());
    ASSERT_EQ(limits.admit(ep), Verdict::Admitted);
    limits.release(ep);
  }
  EXPECT_EQ(limits.sourcesTracked(), 0u);
  EXPECT_EQ(limits.open(), 0u);
}

// Two workers admit and release at once: the count never passes the limit and ends at zero.
TEST(ConnectionLimits, ConcurrentWorkersNeverPassTheLimit) {
  ConnectionLimits limits(8, 4);
  std::atomic<int> over{0};
  auto worker = [&](const char* address) {
    for (int i = 0; i < 20'000; ++i) {
      const auto ep = from(address);
      if (limits.admit(ep) != Verdict::Admitted) continue;
      if (limits.open() > 8) ++over;
      limits.release(ep);
    }
  };
  std::thread a(worker, "10.0.0.1"), b(worker, "10.0.0.2"), c(worker, "10.0.0.1");
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.sourcesTracked(), 0u);
}

}  // namespace
}  // namespace edge::proxy
