// Address ranges: parsing (with the worst legal and illegal text) and membership over IPv4,
// IPv6 and IPv4-mapped IPv6 addresses.
#include "net/cidr.h"

#include <gtest/gtest.h>

#include "net/endpoint.h"

namespace edge::net {
namespace {

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

Cidr cidr(const char* text) {
  std::string why;
  auto c = Cidr::parse(text, &why);
  EXPECT_TRUE(c) << text << ": " << why;
  return c.value_or(*Cidr::parse("0.0.0.0/32"));
}

TEST(CidrTest, ParsesAndWritesBackNetworks) {
  const std::pair<const char*, const char*> cases[] = {
      {"10.0.0.0/8", "10.0.0.0/8"},
      {"192.0.2.7", "192.0.2.7/32"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"255.255.255.255/32", "255.255.255.255/32"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"::1", "::1/128"},
      {"::/0", "::/0"},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8"},  // the mapped form is the IPv4 range
      {"::ffff:192.0.2.7", "192.0.2.7/32"},
      {"::ffff:0.0.0.0/96", "0.0.0.0/0"},
      {"10.128.0.0/9", "10.128.0.0/9"},
  };
  for (const auto& [text, written] : cases) {
    EXPECT_EQ(cidr(text).text(), written) << text;
  }
}

TEST(CidrTest, RefusesMalformedRangesWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not ADDR"},
      {"10.0.0.0/", "prefix"},
      {"10.0.0.0/33", "prefix length (0-32"},
      {"2001:db8::/129", "prefix length (0-128"},
      {"10.0.0.0/-1", "prefix"},
      {"10.0.0.0/+8", "prefix"},
      {"10.0.0.0/8/8", "prefix"},
      {"10.0.0.0/ 8", "prefix"},
      {"10.0.0.0/08x", "prefix"},
      {"10.0.0.0/99999999999999999999", "prefix"},
      {"10.0.0.1/8", "the network is 10.0.0.0/8"},
      {"2001:db8::1/32", "the network is 2001:db8::/32"},
      {"[::1]/128", "without brackets"},
      {"fe80::1%eth0/64", "without brackets or scope"},
      {"example.com/8", "not an IP address"},
      {"10.0.0/8", "not an IP address"},
      {"010.0.0.0/8", "not an IP address"},
      {"10.0.0.0 /8", "not an IP address"},
      {"/8", "not an IP address"},
  };
  for (const auto& [text, reason] : cases) {
    std::string why;
    EXPECT_FALSE(Cidr::parse(text, &why)) << text;
    EXPECT_NE(why.find(reason), std::string::npos) << text << ": " << why;
  }
}

TEST(CidrTest, MembershipOverIpv4Ipv6AndMappedAddresses) {
  struct Case {
    const char* range;
    const char* address;
    bool inside;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.255.255.255", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},  // a dual-stack listener's IPv4 client
      {"10.0.0.0/8", "::ffff:11.1.2.3", false},
      {"10.0.0.0/8", "::a01:203", false},  // IPv4-compatible (deprecated) is IPv6
      {"127.0.0.5", "127.0.0.5", true},
      {"127.0.0.5", "127.0.0.6", false},
      {"127.0.0.5", "::ffff:127.0.0.5", true},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "::ffff:203.0.113.9", true},
      {"0.0.0.0/0", "2001:db8::1", false},
      {"::/0", "2001:db8::1", true},
      {"::/0", "::1", true},
      {"::/0", "::ffff:203.0.113.9", false},  // IPv6 ranges match IPv6 clients only
      {"::/0", "203.0.113.9", false},
      {"::ffff:10.0.0.0/104", "10.9.9.9", true},  // written mapped: the IPv4 range
      {"2001:db8::/32", "2001:db8:ffff::1", true},
      {"2001:db8::/32", "2001:db9::1", false},
      {"10.128.0.0/9", "10.127.255.255", false},
      {"10.128.0.0/9", "10.128.0.0", true},
      {"192.0.2.0/31", "192.0.2.1", true},
      {"192.0.2.0/31", "192.0.2.2", false},
      {"::1", "::1", true},
      {"::1", "127.0.0.1", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(cidr(c.range).contains(ip(c.address)), c.inside) << c.range << " " << c.address;
  }
}

TEST(CidrTest, ListsAndUnmapping) {
  const std::vector<Cidr> list{cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
  EXPECT_TRUE(anyContains(list, ip("::ffff:10.0.0.1")));
  EXPECT_TRUE(anyContains(list, ip("2001:db8::5")));
  EXPECT_FALSE(anyContains(list, ip("192.0.2.1")));
  EXPECT_FALSE(anyContains({}, ip("10.0.0.1")));
  EXPECT_EQ(joinText(list), "10.0.0.0/8,2001:db8::/32");
  EXPECT_EQ(unmapped(ip("::ffff:1.2.3.4")), ip("1.2.3.4"));
  EXPECT_EQ(unmapped(ip("::1")), ip("::1"));
}

}  // namespace
}  // namespace edge::net
