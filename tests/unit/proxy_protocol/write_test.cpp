// The PROXY header writers: exact bytes per haproxy.org's proxy-protocol.txt.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "log/connection_id.h"
#include "proxy_protocol/header.h"

namespace edge::proxy_protocol {
namespace {

net::Endpoint ep(const char* ip, uint16_t port) {
  return net::Endpoint(asio::ip::make_address(ip), port);
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

const std::string kSignature =
    bytes({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});

// Hex dump, so a failing comparison shows where the bytes differ.
std::string hex(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (!out.empty()) out += ' ';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

TEST(ProxyProtocolWriteTest, V1Ipv4) {
  EXPECT_EQ(writeV1(ep("127.0.0.5", 40000), ep("127.0.0.1", 8080)),
            "PROXY TCP4 127.0.0.5 127.0.0.1 40000 8080\r\n");
  EXPECT_EQ(writeV1(ep("0.0.0.0", 0), ep("10.0.0.1", 1)), "PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n");
  const std::string longest = writeV1(ep("255.255.255.255", 65535), ep("255.255.255.255", 65535));
  EXPECT_EQ(longest, "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n");
  EXPECT_EQ(longest.size(), 56u);
}

TEST(ProxyProtocolWriteTest, V1Ipv6) {
  EXPECT_EQ(writeV1(ep("2001:db8::1", 443), ep("::1", 8443)),
            "PROXY TCP6 2001:db8::1 ::1 443 8443\r\n");
  // A scope id has no place on the wire.
  EXPECT_EQ(writeV1(ep("fe80::1%1", 1), ep("fe80::2", 2)), "PROXY TCP6 fe80::1 fe80::2 1 2\r\n");
}

TEST(ProxyProtocolWriteTest, V1Ipv6CanonicalText) {
  struct Case {
    const char* address;
    const char* text;
  };
  const std::vector<Case> cases = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single zero group stays
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // the first of equal runs
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},           // the longest run
      {"ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
      // inet_ntop would write these two with a dotted quad; a strict reader wants hex groups.
      {"::2:3", "::2:3"},
      {"::ffff:0:0", "::ffff:0:0"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(writeV1(ep(c.address, 1), ep("::1", 2)),
              std::string("PROXY TCP6 ") + c.text + " ::1 1 2\r\n")
        << c.address;
  }
}

TEST(ProxyProtocolWriteTest, V1Ipv6TextMatchesInetNtopForOrdinaryAddresses) {
  std::mt19937 rng(13);
  for (int i = 0; i < 2000; ++i) {
    asio::ip::address_v6::bytes_type b{};
    for (auto& byte : b) byte = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : rng());
    b[0] = 0x20;  // not the ::/96 and ::ffff:0:0/96 ranges inet_ntop writes with a dotted quad
    const asio::ip::address_v6 a(b);
    EXPECT_EQ(writeV1(net::Endpoint(a, 1), ep("::1", 2)),
              "PROXY TCP6 " + a.to_string() + " ::1 1 2\r\n");
  }
}

TEST(ProxyProtocolWriteTest, V1LongestLineFitsTheSpecBound) {
  const auto all_ones = ep("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
  const std::string line = writeV1(all_ones, all_ones);
  EXPECT_EQ(line.size(), 104u);
  EXPECT_LE(line.size(), kMaxV1Bytes);
  // The longest mixed-family line: an IPv4 address mapped beside a full IPv6 one.
  EXPECT_LE(writeV1(ep("255.255.255.255", 65535), all_ones).size(), kMaxV1Bytes);
}

TEST(ProxyProtocolWriteTest, V1MappedAndMixedFamilies) {
  // Both IPv4-mapped: written as IPv4.
  EXPECT_EQ(writeV1(ep("::ffff:10.0.0.1", 1), ep("::ffff:10.0.0.2", 2)),
            "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n");
  // One mapped, one IPv4: IPv4.
  EXPECT_EQ(writeV1(ep("::ffff:127.0.0.5", 5000), ep("127.0.0.1", 80)),
            "PROXY TCP4 127.0.0.5 127.0.0.1 5000 80\r\n");
  // IPv4 beside IPv6: both IPv6, the IPv4 one mapped.
  EXPECT_EQ(writeV1(ep("10.0.0.1", 1234), ep("2001:db8::2", 80)),
            "PROXY TCP6 ::ffff:a00:1 2001:db8::2 1234 80\r\n");
  EXPECT_EQ(writeV1(ep("2001:db8::2", 80), ep("::ffff:10.0.0.1", 1234)),
            "PROXY TCP6 2001:db8::2 ::ffff:a00:1 80 1234\r\n");
}

TEST(ProxyProtocolWriteTest, V2Ipv4) {
  const std::string want = kSignature + bytes({0x21, 0x11, 0x00, 0x0C,      //
                                               127, 0, 0, 5, 127, 0, 0, 1,  //
                                               0x9C, 0x40, 0x1F, 0x90});
  EXPECT_EQ(hex(writeV2(ep("127.0.0.5", 40000), ep("127.0.0.1", 8080), "")), hex(want));
}

TEST(ProxyProtocolWriteTest, V2Ipv4WithUniqueId) {
  const log::ConnectionIdText id(log::connectionIdBase(1) + 2);
  ASSERT_EQ(id.view(), "0001000000000002");
  const std::string want = kSignature +
                           bytes({0x21, 0x11, 0x00, 12 + 3 + 16,                       //
                                  127, 0, 0, 5, 127, 0, 0, 1, 0x9C, 0x40, 0x1F, 0x90,  //
                                  0x05, 0x00, 0x10}) +
                           "0001000000000002";
  const std::string got = writeV2(ep("127.0.0.5", 40000), ep("127.0.0.1", 8080), id.view());
  EXPECT_EQ(hex(got), hex(want));
  EXPECT_EQ(got.size(), 16u + 31u);
}

TEST(ProxyProtocolWriteTest, V2Ipv6) {
  const std::string want =
      kSignature + bytes({0x21, 0x21, 0x00, 0x24,                                      //
                          0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  //
                          0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  //
                          0x01, 0xBB, 0x20, 0xFB});
  EXPECT_EQ(hex(writeV2(ep("2001:db8::1", 443), ep("::1", 8443), "")), hex(want));
}

TEST(ProxyProtocolWriteTest, V2Ipv6WithUniqueId) {
  const std::string want =
      kSignature +
      bytes({0x21, 0x21, 0x00, 36 + 3 + 3,                                              //
             0,    0,    0,    0,          0,    0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 1,  //
             0,    0,    0,    0,          0,    0,    0,   0, 0, 0, 0, 0, 0, 0, 0, 1,  //
             0x00, 0x01, 0xFF, 0xFF,       0x05, 0x00, 0x03}) +
      "abc";
  EXPECT_EQ(hex(writeV2(ep("::1", 1), ep("::1", 65535), "abc")), hex(want));
}

TEST(ProxyProtocolWriteTest, V2MappedAndMixedFamilies) {
  // IPv4-mapped: written as IPv4.
  EXPECT_EQ(
      hex(writeV2(ep("::ffff:10.0.0.1", 1), ep("::ffff:10.0.0.2", 2), "")),
      hex(kSignature + bytes({0x21, 0x11, 0x00, 0x0C, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2})));
  // IPv4 beside IPv6: both IPv6, the IPv4 one mapped.
  const std::string mixed =
      kSignature + bytes({0x21, 0x21, 0x00, 0x24,                                             //
                          0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1,  //
                          0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,    0,    0,  0, 0, 2,  //
                          0x04, 0xD2, 0x00, 0x50});
  EXPECT_EQ(hex(writeV2(ep("10.0.0.1", 1234), ep("2001:db8::2", 80), "")), hex(mixed));
  EXPECT_EQ(hex(writeV2(ep("::ffff:10.0.0.1", 1234), ep("2001:db8::2", 80), "")), hex(mixed));
}

TEST(ProxyProtocolWriteTest, V2UniqueIdIsCappedAtTheSpecBound) {
  const std::string long_id(200, 'x');
  const std::string got = writeV2(ep("127.0.0.1", 1), ep("127.0.0.1", 2), long_id);
  ASSERT_EQ(got.size(), 16u + 12u + 3u + 128u);
  EXPECT_EQ(static_cast<uint8_t>(got[14]), 0);
  EXPECT_EQ(static_cast<uint8_t>(got[15]), 12 + 3 + 128);
  EXPECT_EQ(static_cast<uint8_t>(got[28]), 0x05);
  EXPECT_EQ(static_cast<uint8_t>(got[30]), 128);
}

}  // namespace
}  // namespace edge::proxy_protocol
