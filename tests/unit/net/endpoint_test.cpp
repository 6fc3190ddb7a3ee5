// Endpoint parsing and formatting.
#include "net/endpoint.h"

#include <gtest/gtest.h>

#include <unordered_set>
#include <vector>

namespace edge::net {
namespace {

Endpoint ep(const char* ip, uint16_t port) {
  return Endpoint(asio::ip::make_address(ip), port);
}

TEST(EndpointTest, ParsePort) {
  struct Case {
    std::string text;
    uint16_t min_port;
    std::optional<uint16_t> want;
  };
  const std::vector<Case> cases = {
      {"1", 1, 1},
      {"80", 1, 80},
      {"080", 1, 80},
      {"65535", 1, 65535},
      {"0", 1, std::nullopt},
      {"0", 0, 0},
      {"65536", 0, std::nullopt},
      {"70000", 1, std::nullopt},
      {"99999999999", 1, std::nullopt},
      {"", 0, std::nullopt},
      {"-1", 0, std::nullopt},
      {"+80", 1, std::nullopt},
      {" 80", 1, std::nullopt},
      {"80 ", 1, std::nullopt},
      {"80a", 1, std::nullopt},
      {"abc", 1, std::nullopt},
      {"1024", 1025, std::nullopt},
  };
  for (const auto& [text, min_port, want] : cases) {
    EXPECT_EQ(parsePort(text, min_port), want) << '"' << text << "\" min " << min_port;
  }
}

TEST(EndpointTest, ParseAddress) {
  struct Case {
    std::string text;
    std::optional<std::string> want;  // canonical to_string()
  };
  const std::vector<Case> cases = {
      {"1.2.3.4", "1.2.3.4"},
      {"0.0.0.0", "0.0.0.0"},
      {"::1", "::1"},
      {"[::1]", "::1"},
      {"FD00::0002", "fd00::2"},
      {"[::ffff:1.2.3.4]", "::ffff:1.2.3.4"},
      {"", std::nullopt},
      {"[]", std::nullopt},
      {"[1.2.3.4]", std::nullopt},  // brackets are for IPv6 only
      {"[::1", std::nullopt},
      {"::1]", std::nullopt},
      {"1.2.3", std::nullopt},
      {"256.1.1.1", std::nullopt},
      {"host.example", std::nullopt},
      {"localhost", std::nullopt},
      {"1.2.3.4:80", std::nullopt},
      // The whole text is the address: asio reads a C string, which would end at the NUL.
      {std::string("1.2.3.4\0junk", 12), std::nullopt},
      {std::string("[::1\0x]", 7), std::nullopt},
      {std::string("::ff\0\0\0\0\0\0\0\0"
                   "0.1",
                   15),
       std::nullopt},  // fuzz/corpus/duration_endpoint_fuzz/crash_nul_in_address
  };
  for (const auto& [text, want] : cases) {
    const auto got = parseAddress(text);
    EXPECT_EQ(got.has_value(), want.has_value()) << '"' << text << '"';
    if (got && want) {
      EXPECT_EQ(got->to_string(), *want) << '"' << text << '"';
    }
  }
}

TEST(EndpointTest, ParseHostPort) {
  struct Case {
    std::string text;
    bool allow_bare_port;
    uint16_t min_port;
    bool ok;
    std::optional<std::string> address;
    std::optional<uint16_t> port;
  };
  const std::vector<Case> cases = {
      {"1.2.3.4:80", false, 1, true, "1.2.3.4", 80},
      {"1.2.3.4", false, 1, true, "1.2.3.4", std::nullopt},
      {"1.2.3.4", true, 1, true, "1.2.3.4", std::nullopt},
      {"[::1]:5353", false, 1, true, "::1", 5353},
      {"[::1]", false, 1, true, "::1", std::nullopt},
      {"::1", false, 1, true, "::1", std::nullopt},
      {"fd00::2", true, 1, true, "fd00::2", std::nullopt},
      {"8080", true, 1, true, std::nullopt, 8080},
      {"0", true, 0, true, std::nullopt, 0},
      {":8080", true, 1, true, std::nullopt, 8080},
      {"*:8080", true, 1, true, std::nullopt, 8080},
      {"0", true, 1, false, std::nullopt, std::nullopt},
      {"8080", false, 1, false, std::nullopt, std::nullopt},
      {":8080", false, 1, false, std::nullopt, std::nullopt},
      {"", true, 1, false, std::nullopt, std::nullopt},
      {"1.2.3.4:", true, 1, false, std::nullopt, std::nullopt},
      {"1.2.3.4:70000", true, 1, false, std::nullopt, std::nullopt},
      {"1.2.3.4:0", true, 1, false, std::nullopt, std::nullopt},
      {"[::1]:", true, 1, false, std::nullopt, std::nullopt},
      {"[::1]x", true, 1, false, std::nullopt, std::nullopt},
      {"[::1", true, 1, false, std::nullopt, std::nullopt},
      {"[1.2.3.4]:80", true, 1, false, std::nullopt, std::nullopt},
      {"host.example:80", true, 1, false, std::nullopt, std::nullopt},
      {"host.example", false, 1, false, std::nullopt, std::nullopt},
      {"localhost", true, 1, false, std::nullopt, std::nullopt},
      {"99999", true, 1, false, std::nullopt, std::nullopt},
      {std::string("1.2.3.4\0:80", 10), true, 1, false, std::nullopt, std::nullopt},
      {std::string("[::1\0]:80", 9), true, 1, false, std::nullopt, std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE("\"" + c.text + "\" bare=" + std::to_string(c.allow_bare_port));
    const auto got = parseHostPort(c.text, c.allow_bare_port, c.min_port);
    ASSERT_EQ(got.has_value(), c.ok);
    if (!got) continue;
    EXPECT_EQ(got->address.has_value(), c.address.has_value());
    if (got->address && c.address) {
      EXPECT_EQ(got->address->to_string(), *c.address);
    }
    EXPECT_EQ(got->port, c.port);
  }
}

TEST(EndpointTest, Format) {
  EXPECT_EQ(format(ep("1.2.3.4", 80)), "1.2.3.4:80");
  EXPECT_EQ(format(ep("0.0.0.0", 0)), "0.0.0.0:0");
  EXPECT_EQ(format(ep("::1", 5)), "[::1]:5");
  EXPECT_EQ(format(ep("FD00:0:0::2", 65535)), "[fd00::2]:65535");
  EXPECT_EQ(format(ep("::ffff:10.0.0.1", 22)), "[::ffff:10.0.0.1]:22");
  EXPECT_EQ(format(ep("255.255.255.255", 65535)), "255.255.255.255:65535");
}

TEST(EndpointTest, FormatKeepsALinkLocalScopeAsAsioWritesIt) {
  auto link_local = asio::ip::make_address_v6("fe80::1:2:3:4");
  link_local.scope_id(1);  // the loopback interface's index: written as its name
  const Endpoint e(link_local, 443);
  EXPECT_EQ(format(e), "[" + link_local.to_string() + "]:443");
  EXPECT_NE(format(e).find('%'), std::string::npos);
  // The longest text there is fits the fixed buffer.
  auto longest = asio::ip::make_address_v6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
  EndpointText buffer;
  EXPECT_EQ(formatInto(Endpoint(longest, 65535), buffer), "[" + longest.to_string() + "]:65535");
}

TEST(EndpointTest, FormatParsesBack) {
  for (const auto& e : {ep("1.2.3.4", 80), ep("::1", 5), ep("fd00::2", 65535)}) {
    const auto hp = parseHostPort(format(e), false);
    ASSERT_TRUE(hp.has_value()) << format(e);
    ASSERT_TRUE(hp->address && hp->port);
    EXPECT_EQ(Endpoint(*hp->address, *hp->port), e);
  }
}

TEST(EndpointTest, HashEqualForEqualEndpoints) {
  const EndpointHash hash;
  EXPECT_EQ(hash(ep("10.0.0.1", 80)), hash(ep("10.0.0.1", 80)));
  EXPECT_EQ(hash(ep("fd00::2", 80)), hash(ep("FD00:0::2", 80)));
  // Not required, but a hash that ignores the port or the address would be useless.
  EXPECT_NE(hash(ep("10.0.0.1", 80)), hash(ep("10.0.0.1", 81)));
  EXPECT_NE(hash(ep("10.0.0.1", 80)), hash(ep("10.0.0.2", 80)));
  EXPECT_NE(hash(ep("fd00::1", 80)), hash(ep("fd00::2", 80)));

  std::unordered_set<Endpoint, EndpointHash> set;
  for (int round = 0; round < 2; ++round) {
    for (uint16_t port = 1; port <= 50; ++port) {
      set.insert(ep("10.0.0.1", port));
      set.insert(ep("::1", port));
    }
  }
  EXPECT_EQ(set.size(), 100u);
}

}  // namespace
}  // namespace edge::net
