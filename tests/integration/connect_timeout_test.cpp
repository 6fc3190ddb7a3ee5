// A target that never answers the handshake: the connect attempt times out (the fixture runs
// edge-connector with --connect-timeout 2s), the client is closed and the log says why; with a
// good target next to it every client is still served. A target that answers late (within the
// timeout) serves the client, and one that refuses late fails the attempt at once: the connect
// that did not finish at once completes in the loop either way.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "edge_fixture.h"
#include "run_until.h"

namespace edge::test {
namespace {

using namespace std::chrono_literals;

// A loopback listener whose accept queue is full: the kernel drops further SYNs, so a connect
// to it hangs instead of failing. Owns its sockets.
class BlackHole {
 public:
  BlackHole() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 0) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      throw std::runtime_error("black hole: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    // Fill the queue (backlog 0 still admits one) with connections nobody accepts.
    for (int i = 0; i < 2; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers_.push_back(fd);
      sockaddr_in local{};
      socklen_t local_length = sizeof local;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length);
      filler_ports_.push_back(local.sin_port);
    }
    ::usleep(100'000);  // let the handshakes that can complete, complete
  }
  ~BlackHole() { close(); }
  // Stops listening: the next retransmitted SYN is answered with a reset (connection refused).
  void close() {
    stop_ = true;
    if (answering_.joinable()) answering_.join();
    for (int fd : fillers_) ::close(fd);
    fillers_.clear();
    for (int fd : held_) ::close(fd);
    held_.clear();
    if (listener_ >= 0) ::close(std::exchange(listener_, -1));
  }
  // From now on accepts every connection (freeing the queue, so the next retransmitted SYN
  // gets through), sends it `greeting` (if any) and closes it, or with `keep_open` holds it
  // until close().
  void startAnswering(std::string greeting, bool keep_open = false) {
    if (!greeting.empty()) greeting += "\n";
    answering_ = std::thread([this, keep_open, greeting = std::move(greeting)] {
      while (!stop_) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;
        sockaddr_in peer{};
        socklen_t peer_length = sizeof peer;
        const int fd = ::accept(listener_, reinterpret_cast<sockaddr*>(&peer), &peer_length);
        if (fd < 0) continue;
        if (std::find(filler_ports_.begin(), filler_ports_.end(), peer.sin_port) ==
            filler_ports_.end()) {
          ++answered_;
        }
        if (!greeting.empty()) (void)!::write(fd, greeting.data(), greeting.size());
        if (keep_open) {
          held_.push_back(fd);
        } else {
          ::close(fd);
        }
      }
    });
  }
  std::uint16_t port() const { return port_; }
  // Connections answered, the hole's own fillers not counted.
  int answered() const { return answered_; }

 private:
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> fillers_;
  std::vector<in_port_t> filler_ports_;  // network order, as accept() reports them
  std::vector<int> held_;  // answered connections kept open (only the answering thread adds)
  std::thread answering_;
  std::atomic<bool> stop_ = false;
  std::atomic<int> answered_ = 0;
};

class ConnectTimeout : public EdgeFixture {
 protected:
  // DNS lists the hole as a target (next to whatever `records` hold); then the daemon starts.
  void startWithHole(DnsRecords records = {}, std::vector<std::string> extra_args = {}) {
    records.srv.push_back({.name = kService, .target = "hole.svc.test", .port = hole.port()});
    records.hosts.push_back({"hole.svc.test", "127.0.0.1"});
    start_dns(std::move(records));
    start_edge(std::move(extra_args));
  }
  // A client whose connection the daemon is now trying to open to the hole: the SYN was
  // dropped and the kernel retransmits it about 1 s after the first.
  std::optional<TcpClient> clientWaitingOnTheHole() {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    std::this_thread::sleep_for(300ms);
    return client;
  }

  BlackHole hole;
};

TEST_F(ConnectTimeout, AnUnansweredConnectEndsInConnectFailedWithTheReason) {
  startWithHole();

  const auto started = std::chrono::steady_clock::now();
  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  const auto rest = client->read_until_eof(kIoTimeout);  // closed once the attempt timed out
  EXPECT_TRUE(rest.has_value() && rest->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1900ms);

  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "connect_failed");
  EXPECT_EQ(record.get("error"), "connect timeout");
  EXPECT_EQ(record.integer("attempts"), 1);
}

TEST_F(ConnectTimeout, ClientsAreServedByTheTargetThatAnswers) {
  Backend& good = add_greet_echo("good");
  DnsRecords records;
  add_srv(records, good);
  startWithHole(std::move(records));

  for (int i = 0; i < 3; ++i) {
    auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
    ASSERT_TRUE(client);
    EXPECT_EQ(client->read_line(kIoTimeout), "good");
  }
  ASSERT_TRUE(edge().wait_access_log(3, kIoTimeout));
  for (const auto& record : edge().access_log()) {
    EXPECT_EQ(record.get("target"), good.endpoint());
    const auto attempts = record.integer("attempts");
    EXPECT_TRUE(attempts == 1 || attempts == 2) << record.get("attempts");
  }
}

TEST_F(ConnectTimeout, AHandshakeAnsweredLateStillServesTheClient) {
  startWithHole();

  auto client = clientWaitingOnTheHole();
  ASSERT_TRUE(client);
  hole.startAnswering("late");  // the retransmitted SYN gets through
  EXPECT_EQ(client->read_line(kIoTimeout), "late");
  client.reset();  // the hole closed its side already: the connection ends

  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("target"), "127.0.0.1:" + std::to_string(hole.port()));
  EXPECT_EQ(record.integer("attempts"), 1);
  EXPECT_EQ(record.get("close"), "target_closed");
  EXPECT_GE(record.integer("duration_ms"), 500);  // served by the connect that waited
}

TEST_F(ConnectTimeout, TheTimeSpentConnectingIsNotIdleness) {
  startWithHole({}, {"--idle-timeout", "300ms"});

  auto client = clientWaitingOnTheHole();
  ASSERT_TRUE(client);
  std::this_thread::sleep_for(300ms);  // the connect has now waited longer than the timeout
  hole.startAnswering("", /*keep_open=*/true);  // a backend that waits for the client to speak
  ASSERT_TRUE(run_until([&] { return hole.answered() == 1; }, kIoTimeout));
  // Open and quiet: closed once quiet for the timeout after connecting, not at once.
  EXPECT_EQ(client->wait_closed(150ms), IoResult::timeout) << "closed for the connect's wait";
  EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);

  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  EXPECT_EQ(edge().access_log().front().get("close"), "idle_timeout");
}

TEST_F(ConnectTimeout, AHandshakeRefusedLateFailsTheAttemptBeforeTheTimeout) {
  startWithHole();

  const auto started = std::chrono::steady_clock::now();
  auto client = clientWaitingOnTheHole();
  ASSERT_TRUE(client);
  hole.close();  // the retransmitted SYN meets a closed port: a reset
  const auto rest = client->read_until_eof(kIoTimeout);
  EXPECT_TRUE(rest.has_value() && rest->empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1900ms) << "waited for the timeout";

  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "connect_failed");
  EXPECT_EQ(record.get("error"), "Connection refused");
  EXPECT_EQ(record.integer("attempts"), 1);  // the only target, already tried
  EXPECT_GE(record.integer("duration_ms"), 500);
}

// The deadline of a connect that waited and then succeeded must not keep a drained process
// alive: it exits right after the last connection, not when that deadline would have passed.
TEST_F(ConnectTimeout, ADrainedProcessDoesNotWaitForAFinishedConnectsDeadline) {
  startWithHole({}, {"--connect-timeout", "20s", "--drain-timeout", "1s"});

  auto client = clientWaitingOnTheHole();
  ASSERT_TRUE(client);
  hole.startAnswering("late");  // the retransmitted SYN gets through: the connect succeeds
  EXPECT_EQ(client->read_line(kIoTimeout), "late");
  client.reset();  // the hole closed its side already: the connection ends
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));

  ASSERT_TRUE(signal_edge(SIGTERM));
  const auto status = edge().process().wait_exit(3s);
  EXPECT_EQ(status, 0) << "still running 3 s after SIGTERM with nothing open";
}

}  // namespace
}  // namespace edge::test
