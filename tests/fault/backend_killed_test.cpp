// Case 1: a backend SIGKILLed in the middle of transfers. Its clients see their stream end
// within 1 s; the clients of the other backend, paused with data in flight at that moment,
// finish byte-exact.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <iostream>
#include <thread>

#include "fault_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using BackendKilled = FaultFixture;

constexpr std::uint64_t kEndless = 1ULL << 40;
constexpr std::uint64_t kSurvivorBytes = 64ULL << 20;
constexpr std::uint64_t kSeedKilled = 11, kSeedSurvivor = 22;
constexpr std::uint64_t kPauseAfter = 1 << 20;

// Reads one client's stream in its own thread; after kPauseAfter bytes it waits for `resume`
// if given (a client of the surviving backend holds its data in flight across the kill).
struct Reader {
  std::unique_ptr<TcpClient> client;
  std::string backend;
  const std::atomic<bool>* resume = nullptr;
  Fnv1a64 hash;
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<bool> done{false};
  IoResult end = IoResult::ok;
  std::chrono::steady_clock::time_point ended;
  std::thread thread;

  void run() {
    std::vector<std::uint8_t> buffer(1 << 16);
    const Until until = Until::in(std::chrono::seconds(60));
    while (true) {
      if (resume != nullptr && bytes >= kPauseAfter &&
          !run_until([&] { return resume->load(); }, std::chrono::seconds(30))) {
        end = IoResult::timeout;
        break;
      }
      std::size_t got = 0;
      end = recv_some(client->fd(), buffer.data(), buffer.size(), got, until);
      if (end != IoResult::ok) break;
      hash.update({buffer.data(), got});
      bytes += got;
    }
    ended = std::chrono::steady_clock::now();
    done = true;
  }
};

TEST_F(BackendKilled, ItsClientsSeeTheEndWithinOneSecondAndTheOthersFinishByteExact) {
  BackendProcess& doomed = add_backend_process(
      {.mode = "source", .greet = "doomed\n", .bytes = kEndless, .seed = kSeedKilled});
  BackendProcess& survivor = add_backend_process(
      {.mode = "source", .greet = "survivor\n", .bytes = kSurvivorBytes, .seed = kSeedSurvivor});
  DnsRecords records;
  add_target(records, "doomed", doomed.port());
  add_target(records, "survivor", survivor.port());
  start_dns(records);
  start_edge();

  std::atomic<bool> resume{false};
  std::vector<std::unique_ptr<Reader>> readers;
  int doomed_count = 0, survivor_count = 0;
  for (int i = 0; i < 40 && (doomed_count < 3 || survivor_count < 3); ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    const auto greeting = read_line_exactly(client->fd(), kIoTimeout);
    ASSERT_TRUE(greeting == "doomed" || greeting == "survivor") << greeting.value_or("<none>");
    auto reader = std::make_unique<Reader>();
    reader->client = std::make_unique<TcpClient>(std::move(*client));
    reader->backend = *greeting;
    if (*greeting == "survivor") {
      reader->resume = &resume;
      ++survivor_count;
    } else {
      ++doomed_count;
    }
    readers.push_back(std::move(reader));
  }
  ASSERT_GE(doomed_count, 3);
  ASSERT_GE(survivor_count, 3);
  for (auto& r : readers) r->thread = std::thread([&r = *r] { r.run(); });

  // Every stream is under way: the doomed ones flowing, the survivors paused with bytes queued.
  ASSERT_TRUE(run_until(
      [&] {
        for (auto& r : readers) {
          if (r->bytes < kPauseAfter) return false;
        }
        return true;
      },
      10s));
  const auto killed_at = std::chrono::steady_clock::now();
  doomed.process().send_signal(SIGKILL);

  const bool doomed_ended = run_until(
      [&] {
        for (auto& r : readers) {
          if (r->backend == "doomed" && !r->done) return false;
        }
        return true;
      },
      5s);
  resume = true;
  for (auto& r : readers) r->thread.join();
  EXPECT_TRUE(doomed_ended);

  for (auto& r : readers) {
    SCOPED_TRACE(r->backend + " client, port " + std::to_string(r->client->local_port()));
    if (r->backend == "doomed") {
      const auto after =
          std::chrono::duration_cast<std::chrono::milliseconds>(r->ended - killed_at);
      std::cout << "doomed client saw " << to_string(r->end) << " " << after.count()
                << " ms after the kill (" << r->bytes << " bytes)\n";
      EXPECT_TRUE(r->end == IoResult::eof || r->end == IoResult::reset) << to_string(r->end);
      EXPECT_LT(after, 1s);
    } else {
      EXPECT_EQ(r->end, IoResult::eof) << to_string(r->end);
      EXPECT_EQ(r->bytes, kSurvivorBytes);
      EXPECT_EQ(r->hash.hash(), stream_hash(kSeedSurvivor, kSurvivorBytes));
    }
  }
}

}  // namespace
}  // namespace edge::test
