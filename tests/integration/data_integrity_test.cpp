// Data integrity under stress (issue 9, acceptance 2): concurrent connections, each with its
// own random script, through the real daemon at --pipe-size 4k, 64k and 1m. Chunk sizes sit
// around the copy/splice switch (the 16 KiB copy buffer) and far above it, urgent bytes come at
// random points (the daemon forwards them inline), some receivers are slow (small SO_RCVBUF,
// small paced reads), and the streams end with a half-close in either order or at once. Every
// byte is hashed at both ends in both directions, and the access log's byte counts must match.
//
// The scripts come from one seed, printed at the start; EDGE_TEST_SEED=N repeats a run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "byte_stream.h"
#include "edge_fixture.h"
#include "manual_backend.h"
#include "run_until.h"
#include "socket_util.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

constexpr int kConnections = 24;
constexpr auto kCaseBudget = 20s;  // a hard ceiling; a case takes a few seconds

enum class Order { ClientFinFirst, TargetFinFirst, AtOnce };
enum class Slow { Nobody, Client, Target };

struct Step {
  std::uint32_t size;
  bool urgent_after;  // one more byte, sent with MSG_OOB
};

struct Script {
  std::vector<Step> up, down;
  Order order;
  Slow slow;
};

const char* to_string(Order o) {
  return o == Order::ClientFinFirst   ? "client FIN first"
         : o == Order::TargetFinFirst ? "target FIN first"
                                      : "both at once";
}
const char* to_string(Slow s) {
  return s == Slow::Nobody ? "no slow reader" : s == Slow::Client ? "slow client" : "slow target";
}

std::vector<Step> random_steps(std::mt19937_64& rng, std::uint64_t budget) {
  // Around the 16 KiB copy buffer (the copy/splice switch) and well above it.
  static constexpr std::uint32_t kSizes[] = {1, 100, 16383, 16384, 16385, 65536, 1 << 20};
  std::vector<Step> steps;
  std::uint64_t total = 0;
  while (total < budget) {
    std::uint32_t size = kSizes[rng() % std::size(kSizes)];
    if (size == (1u << 20) && budget < (1u << 20)) size = 65536;
    steps.push_back({size, rng() % 4 == 0});
    total += size;
  }
  return steps;
}

Script random_script(std::mt19937_64& rng) {
  Script s;
  s.order = static_cast<Order>(rng() % 3);
  s.slow = static_cast<Slow>(rng() % 3);
  const std::uint64_t budget =
      s.slow == Slow::Nobody ? 64 * 1024 + rng() % (1536 * 1024) : 16 * 1024 + rng() % (256 * 1024);
  s.up = random_steps(rng, budget);
  s.down = random_steps(rng, budget);
  return s;
}

// One end of one connection (the client's or the target's).
struct End {
  UniqueFd fd;
  std::uint64_t seed = 0;
  bool slow = false;
  Fnv1a64 sent, received;
  IoResult send_end = IoResult::ok, receive_end = IoResult::ok;
  std::atomic<bool> eof_seen{false};
};

void send_urgent(int fd, std::uint8_t byte, const Until& until, IoResult& end) {
  while (end == IoResult::ok) {
    if (::send(fd, &byte, 1, MSG_OOB | MSG_NOSIGNAL) == 1) return;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      end = IoResult::reset;
      return;
    }
    end = wait_ready(fd, POLLOUT, until);
  }
}

// Sends the steps, then FIN; first waits for the peer's FIN if `after` is given.
void run_sender(End& end, const std::vector<Step>& steps, const std::atomic<bool>* after,
                const Until& until) {
  if (after != nullptr && !run_until([&] { return after->load(); }, 15s)) {
    end.send_end = IoResult::timeout;
    return;
  }
  ByteStream stream(end.seed);
  std::vector<std::uint8_t> chunk;
  for (const Step& step : steps) {
    chunk.resize(step.size);
    stream.fill(chunk);
    end.sent.update(chunk);
    end.send_end = send_all(end.fd.get(), chunk.data(), chunk.size(), until);
    if (end.send_end != IoResult::ok) return;
    if (step.urgent_after) {
      std::uint8_t urgent = 0;
      stream.fill({&urgent, 1});
      end.sent.update({&urgent, 1});
      send_urgent(end.fd.get(), urgent, until, end.send_end);
      if (end.send_end != IoResult::ok) return;
    }
  }
  ::shutdown(end.fd.get(), SHUT_WR);
}

void run_receiver(End& end, const Until& until) {
  std::vector<std::uint8_t> buffer(end.slow ? 2048 : 1 << 16);
  while (true) {
    std::size_t got = 0;
    end.receive_end = recv_some(end.fd.get(), buffer.data(), buffer.size(), got, until);
    if (end.receive_end != IoResult::ok) break;
    end.received.update({buffer.data(), got});
    if (end.slow) std::this_thread::sleep_for(200us);  // pacing a slow reader, not a wait
  }
  end.eof_seen = true;
}

std::uint64_t test_seed() {
  if (const char* env = std::getenv("EDGE_TEST_SEED")) return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

struct IntegrityCase {
  const char* name;
  const char* pipe_size;
};

void PrintTo(const IntegrityCase& c, std::ostream* os) {
  *os << c.name;
}

class DataIntegrity : public EdgeFixture, public ::testing::WithParamInterface<IntegrityCase> {};

TEST_P(DataIntegrity, EveryByteArrivesIntactBothWaysUnderMixedLoad) {
  const std::uint64_t seed = test_seed();
  std::cout << "seed " << seed << " (EDGE_TEST_SEED=" << seed << " repeats this run)\n";
  SCOPED_TRACE("EDGE_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);

  ManualBackend target;
  start_dns(single_target(target.port()));
  start_edge({"--pipe-size", GetParam().pipe_size});

  struct Connection {
    Script script;
    End client, target;
    std::uint16_t client_port = 0;
  };
  std::vector<std::unique_ptr<Connection>> connections;
  for (int i = 0; i < kConnections; ++i) {
    auto c = std::make_unique<Connection>();
    c->script = random_script(rng);
    c->client.seed = rng();
    c->target.seed = rng();
    c->client.slow = c->script.slow == Slow::Client;
    c->target.slow = c->script.slow == Slow::Target;
    // One at a time, so the next accepted target connection is this client's.
    c->client.fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(c->client.fd.valid());
    const int small = 4096;
    if (c->client.slow) {
      ::setsockopt(c->client.fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    const sockaddr_in sa = ipv4_address("127.0.0.1", edge().port());
    ASSERT_EQ(::connect(c->client.fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa), 0);
    set_nonblocking(c->client.fd.get());
    c->client_port = local_port(c->client.fd.get());
    c->target.fd = target.accept_one(kIoTimeout);
    ASSERT_TRUE(c->target.fd.valid()) << "connection " << i << " did not reach the target";
    if (c->target.slow) {
      ::setsockopt(c->target.fd.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    connections.push_back(std::move(c));
  }

  const auto started = std::chrono::steady_clock::now();
  const Until until{started + kCaseBudget};
  std::vector<std::thread> threads;
  for (auto& c : connections) {
    const Order order = c->script.order;
    threads.emplace_back([&c = *c, until, order] {
      run_sender(c.client, c.script.up,
                 order == Order::TargetFinFirst ? &c.client.eof_seen : nullptr, until);
    });
    threads.emplace_back([&c = *c, until, order] {
      run_sender(c.target, c.script.down,
                 order == Order::ClientFinFirst ? &c.target.eof_seen : nullptr, until);
    });
    threads.emplace_back([&c = *c, until] { run_receiver(c.client, until); });
    threads.emplace_back([&c = *c, until] { run_receiver(c.target, until); });
  }
  for (auto& t : threads) t.join();
  std::uint64_t total = 0;
  for (auto& c : connections) total += c->client.sent.size() + c->target.sent.size();
  std::cout << kConnections << " connections, " << total << " bytes in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s\n";

  ASSERT_TRUE(edge().wait_access_log(kConnections, 10s));
  std::map<std::string, LogfmtRecord> log_by_client;
  for (auto& record : edge().access_log()) log_by_client[record.get("client")] = record;
  for (std::size_t i = 0; i < connections.size(); ++i) {
    const Connection& c = *connections[i];
    SCOPED_TRACE("connection " + std::to_string(i) + ": " + to_string(c.script.order) + ", " +
                 to_string(c.script.slow));
    EXPECT_EQ(c.client.send_end, IoResult::ok) << test::to_string(c.client.send_end);
    EXPECT_EQ(c.target.send_end, IoResult::ok) << test::to_string(c.target.send_end);
    EXPECT_EQ(c.target.receive_end, IoResult::eof) << test::to_string(c.target.receive_end);
    EXPECT_EQ(c.client.receive_end, IoResult::eof) << test::to_string(c.client.receive_end);
    EXPECT_EQ(c.target.received.size(), c.client.sent.size()) << "client → target";
    EXPECT_EQ(c.target.received.hash(), c.client.sent.hash()) << "client → target";
    EXPECT_EQ(c.client.received.size(), c.target.sent.size()) << "target → client";
    EXPECT_EQ(c.client.received.hash(), c.target.sent.hash()) << "target → client";
    const auto it = log_by_client.find("127.0.0.1:" + std::to_string(c.client_port));
    ASSERT_NE(it, log_by_client.end()) << "no access-log line";
    EXPECT_EQ(it->second.integer("bytes_to_target"), static_cast<long long>(c.client.sent.size()));
    EXPECT_EQ(it->second.integer("bytes_to_client"), static_cast<long long>(c.target.sent.size()));
    const auto close = it->second.get("close");
    EXPECT_TRUE(close == "client_closed" || close == "target_closed") << close;
  }
}

INSTANTIATE_TEST_SUITE_P(PipeSizes, DataIntegrity,
                         ::testing::Values(IntegrityCase{"Pipe4k", "4k"},
                                           IntegrityCase{"Pipe64k", "64k"},
                                           IntegrityCase{"Pipe1m", "1m"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace edge::test
