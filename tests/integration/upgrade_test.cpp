// Binary upgrade without a refused or reset connection: a new process takes the running one's
// listening sockets over a Unix socket (--upgrade-from), serves on them, and the old one stops
// accepting and drains. A client loop (connect, exchange, close, every 2 ms) and 20 long
// transfers run across the swap.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "config_file_fixture.h"
#include "free_port.h"
#include "run_until.h"
#include "transfer.h"

namespace edge::test {
namespace {

constexpr const char* kBulkService = "_bulk._tcp.svc.test";
constexpr std::uint64_t kTransferBytes = 16ULL << 20;  // each way, per transfer
constexpr int kTransfers = 20;

class Upgrade : public ConfigFileFixture {
 protected:
  void SetUp() override {
    ConfigFileFixture::SetUp();
    socket_ = dir() + "/upgrade.sock";
  }

  std::string socket_;
};

// Connect, read the greeting, send a line, read it back, close; every 2 ms until stopped.
// Any other outcome (refused, reset, short answer) is a failure, kept with its description.
struct ExchangeLoop {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mutex;
  std::vector<std::string> failures;
  std::thread thread;

  explicit ExchangeLoop(std::uint16_t port) {
    thread = std::thread([this, port] {
      const auto end = std::chrono::steady_clock::now() + 60s;  // bounded
      for (int i = 0; !stop && std::chrono::steady_clock::now() < end; ++i) {
        std::string failure;
        if (auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout); !client) {
          failure = "connect failed";
        } else if (client->read_line(kIoTimeout) != "echo") {
          failure = "no greeting";
        } else if (client->write_all("ping " + std::to_string(i) + "\n", kIoTimeout) !=
                   IoResult::ok) {
          failure = "write failed";
        } else if (client->read_line(kIoTimeout) != "ping " + std::to_string(i)) {
          failure = "no echo";
        }
        if (failure.empty()) {
          ++ok;
        } else {
          std::lock_guard lock(mutex);
          failures.push_back("exchange " + std::to_string(i) + ": " + failure);
        }
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  void finish() {
    stop = true;
    thread.join();
  }
};

TEST_F(Upgrade, NoConnectionIsRefusedOrResetAndEveryTransferIsByteExact) {
  Backend& echo = add_greet_echo("echo");
  Backend& bulk = add_backend({.id = "bulk",
                               .mode = BackendMode::source_sink,
                               .source_bytes = kTransferBytes,
                               .source_seed = 0x5eed0002});
  DnsRecords records;
  add_srv(records, echo);
  records.srv.push_back({.name = kBulkService, .target = host_name(bulk), .port = bulk.port()});
  records.hosts.push_back({.name = host_name(bulk), .address = bulk.address()});
  start_dns(records);
  const auto echo_port = free_port();
  const auto bulk_port = free_port();
  write_file("dns_servers = [\"" + dns().address() + "\"]\nworkers = 2\n" +
             "drain_timeout = \"off\"\nupgrade_socket = \"" + socket_ + "\"\n\n" +
             route("echo", echo_port, kService) + route("bulk", bulk_port, kBulkService));
  start_on_file();
  ASSERT_TRUE(run_until([&] { return ::access(socket_.c_str(), F_OK) == 0; }, 5s));

  ExchangeLoop loop(echo_port);
  std::vector<TransferResult> results(kTransfers);
  std::vector<std::thread> transfers;
  for (int i = 0; i < kTransfers; ++i) {
    transfers.emplace_back([&, i] {
      auto client = TcpClient::connect("127.0.0.1", bulk_port, kIoTimeout);
      if (!client) {
        results[i].send_end = IoResult::error;
        return;
      }
      // Paced (256 chunks, 15 ms apart: about 4 s) so that every transfer spans the swap.
      results[i] =
          run_transfer(client->fd(), kTransferBytes, 0x5eed1000 + i, Until::in(120s), 15ms);
    });
  }
  ASSERT_TRUE(run_until([&] { return loop.ok >= 100 && bulk.accepted() == kTransfers; }, 20s));

  // The upgrade: the same binary stands in for the new one.
  auto next = std::make_unique<EdgeProcess>(EdgeOptions{
      .args = {"--config", path(), "--upgrade-from", socket_}, .default_listen = false});
  EXPECT_TRUE(has_line(next->stderr_lines(), "upgrade: took 4 listening socket(s) from"));
  ASSERT_TRUE(run_until(
      [&] {
        return has_line(edge().stderr_lines(), "upgrade: handed 4 listening socket(s) to pid");
      },
      10s));
  edge_exit_expected_ = true;
  const int at_handover = loop.ok;
  // The old process exits once its transfers are done; the new one serves the loop meanwhile.
  EXPECT_EQ(edge().process().wait_exit(120s), 0);
  for (auto& t : transfers) t.join();
  ASSERT_TRUE(run_until([&] { return loop.ok >= at_handover + 200; }, 20s));
  loop.finish();

  std::cout << "upgrade: " << loop.ok << " exchanges (" << at_handover << " before the handover), "
            << loop.failures.size() << " failed\n";
  EXPECT_TRUE(loop.failures.empty())
      << loop.failures.size() << " failures, first: " << loop.failures.front();
  ASSERT_TRUE(bulk.wait_reports(kTransfers, 10s));
  std::map<std::uint64_t, ConnectionReport> by_hash;  // the backend's reports, by upload hash
  for (const auto& r : bulk.reports()) by_hash[r.hash_received] = r;
  for (int i = 0; i < kTransfers; ++i) {
    SCOPED_TRACE("transfer " + std::to_string(i));
    const auto& t = results[i];
    EXPECT_EQ(t.send_end, IoResult::ok) << to_string(t.send_end);
    EXPECT_EQ(t.receive_end, IoResult::eof) << to_string(t.receive_end);
    ASSERT_TRUE(by_hash.contains(t.sent_hash)) << "upload not received intact";
    EXPECT_EQ(by_hash[t.sent_hash].bytes_received, kTransferBytes);
    EXPECT_EQ(t.received, kTransferBytes);
    EXPECT_EQ(t.received_hash, by_hash[t.sent_hash].hash_sent);
  }
  // Both processes served the loop: the old one before the swap, the new one after it.
  // The old process drained the 20 transfers (and perhaps an exchange of the loop): all were
  // open when it handed over, and none was cut.
  std::string drained;
  for (const auto& l : edge().stderr_lines()) {
    if (l.find("drain finished: ") != std::string::npos) drained = l;
  }
  int ended = -1;
  const auto at = drained.find("drain finished: ");
  if (at != std::string::npos) ended = std::atoi(drained.c_str() + at + 16);
  EXPECT_GE(ended, kTransfers) << drained;
  EXPECT_NE(drained.find(" ended by themselves, 0 cut"), std::string::npos) << drained;
  EXPECT_TRUE(next->wait_access_log(100, 5s)) << "the new process served the loop";
  edge_ = std::move(next);  // stopped by TearDown
  // The new process serves the handover in turn (for the next upgrade).
  EXPECT_TRUE(run_until([&] { return ::access(socket_.c_str(), F_OK) == 0; }, 5s));
}

TEST_F(Upgrade, FromASocketNobodyServesIsAClearErrorNotAFreshStart) {
  const auto run = run_edge_to_exit({"--listen", "127.0.0.1:0", "--target", kService,
                                     "--dns-server", "127.0.0.1:1", "--upgrade-from", socket_},
                                    {});
  ASSERT_TRUE(run.status.has_value());
  EXPECT_EQ(*run.status, 1);
  EXPECT_TRUE(has_line(run.err, "upgrade: ")) << "stderr names the upgrade";
  EXPECT_TRUE(has_line(run.err, socket_));
}

TEST_F(Upgrade, ANewProcessThatIsNotAnEdgeConnectorGetsNoSocket) {
  start_with_echo_backend({"--upgrade-socket", socket_});
  ASSERT_TRUE(run_until([&] { return ::access(socket_.c_str(), F_OK) == 0; }, 5s));
  // A stranger connects and speaks something else: the old process goes on serving.
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_.c_str());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL), 18);
  char buffer[64];
  EXPECT_LE(::recv(fd, buffer, sizeof buffer, 0), 0) << "no header, no descriptor";
  ::close(fd);
  EXPECT_EQ(greeting_through_edge(), "echo");
  EXPECT_TRUE(run_until([&] { return has_line(edge().stderr_lines(), "still serving"); }, 5s));
}

}  // namespace
}  // namespace edge::test
