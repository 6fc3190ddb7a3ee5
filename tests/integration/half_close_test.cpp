// Half-close in both directions: one side's FIN must not cut the other direction short.
#include <gtest/gtest.h>

#include <thread>

#include "edge_fixture.h"

namespace edge::test {
namespace {

using HalfClose = EdgeFixture;

std::string payload(std::size_t size, char seed) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (seed + i * 7) % 26);
  return out;
}

TEST_F(HalfClose, ClientShutsDownWriteAndStillGetsTheWholeReply) {
  Backend& backend = start_with_echo_backend();

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout), "echo");
  // More than the socket buffers hold, so echoed data is still in flight after our FIN.
  const std::string request = payload(1 << 20, 'c');
  IoResult write_end = IoResult::ok;
  std::thread writer([&] {
    write_end = client->write_all(request, kIoTimeout);
    client->shutdown_write();
  });
  const auto reply = client->read_until_eof(kIoTimeout);
  writer.join();
  EXPECT_EQ(write_end, IoResult::ok) << to_string(write_end);
  ASSERT_TRUE(reply.has_value()) << "no EOF (or a reset) after the echo";
  EXPECT_EQ(reply->size(), request.size());
  EXPECT_TRUE(*reply == request) << "echo differs";

  ASSERT_TRUE(backend.wait_reports(1, kIoTimeout));
  EXPECT_EQ(backend.reports().front().receive_end, IoResult::eof);
  EXPECT_EQ(backend.reports().front().bytes_received, request.size());
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "client_closed");
  EXPECT_EQ(record.integer("bytes_to_target"), static_cast<long long>(request.size()));
  EXPECT_EQ(record.integer("bytes_to_client"), static_cast<long long>(request.size() + 5));
}

TEST_F(HalfClose, BackendShutsDownWriteAndStillGetsClientData) {
  Backend& backend = add_backend(
      {.id = "talker", .mode = BackendMode::speak_first, .first_words = "hello, then FIN\n"});
  DnsRecords records;
  add_srv(records, backend);
  start_dns(std::move(records));
  start_edge();

  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  // EOF reaches us while our own direction is still open...
  EXPECT_EQ(client->read_until_eof(kIoTimeout), "talker\nhello, then FIN\n");
  // ...and what we send afterwards must still reach the backend.
  const std::string late = payload(256 << 10, 'l');
  EXPECT_EQ(client->write_all(late, kIoTimeout), IoResult::ok);
  client->shutdown_write();

  ASSERT_TRUE(backend.wait_reports(1, kIoTimeout));
  const auto report = backend.reports().front();
  EXPECT_EQ(report.receive_end, IoResult::eof) << to_string(report.receive_end);
  EXPECT_EQ(report.bytes_received, late.size());
  EXPECT_TRUE(report.text_received == late.substr(0, ConnectionReport::kTextLimit));
  EXPECT_EQ(report.hash_received, [&] {
    Fnv1a64 h;
    h.update({reinterpret_cast<const std::uint8_t*>(late.data()), late.size()});
    return h.hash();
  }());
  ASSERT_TRUE(edge().wait_access_log(1, kIoTimeout));
  const auto record = edge().access_log().front();
  EXPECT_EQ(record.get("close"), "target_closed");
  EXPECT_EQ(record.integer("bytes_to_target"), static_cast<long long>(late.size()));
  EXPECT_EQ(record.integer("bytes_to_client"), 23);
}

}  // namespace
}  // namespace edge::test
