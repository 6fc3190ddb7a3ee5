// The DNS wire walker, on replies built by hand: compression, TTLs, sections, SRV rdata, and
// malformed input (every truncation, pointer loops, reserved label bits, a mutation fuzz loop).
#include "discovery/dns_wire.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace edge::discovery {
namespace {

using ::testing::ElementsAre;

constexpr uint16_t kClassIn = 1;

// Appends DNS wire data. Offsets it returns are message offsets, usable as compression targets.
class Wire {
 public:
  size_t size() const { return b_.size(); }
  const std::vector<uint8_t>& bytes() const { return b_; }
  std::span<const uint8_t> span() const { return b_; }

  Wire& u8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Wire& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  Wire& u32(uint32_t v) {
    return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v));
  }

  Wire& header(uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
    return u16(0x1234).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  // Labels of a dotted name, without the terminating root label.
  Wire& labels(std::string_view dotted) {
    while (!dotted.empty()) {
      const auto dot = dotted.find('.');
      const auto label = dotted.substr(0, dot);
      u8(static_cast<uint8_t>(label.size()));
      for (char c : label) u8(static_cast<uint8_t>(c));
      dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
    }
    return *this;
  }
  Wire& name(std::string_view dotted) { return labels(dotted).u8(0); }
  Wire& pointer(size_t offset) { return u16(static_cast<uint16_t>(0xC000 | offset)); }
  Wire& question(std::string_view dotted, uint16_t type) {
    return name(dotted).u16(type).u16(kClassIn);
  }
  // Type, class, TTL and a placeholder rdlength after an owner name; returns the rdlength offset.
  size_t rrFixed(uint16_t type, uint32_t ttl) {
    u16(type).u16(kClassIn).u32(ttl);
    const size_t at = size();
    u16(0);
    return at;
  }
  void endRdata(size_t rdlength_at) {
    const size_t len = size() - rdlength_at - 2;
    b_[rdlength_at] = static_cast<uint8_t>(len >> 8);
    b_[rdlength_at + 1] = static_cast<uint8_t>(len);
  }
  std::vector<uint8_t>& raw() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// A realistic SRV reply: two answers (one target name compressed against the question, one
// written out in mixed case), A and AAAA records in the additional section whose owner names
// point into the SRV rdata, and one uncompressed additional record.
struct SrvReply {
  Wire w;
  size_t node1_at = 0;  // offset of "node1" inside the first SRV rdata
  size_t node2_at = 0;
};

SrvReply makeSrvReply(uint16_t flags = 0x8180) {
  SrvReply r;
  auto& w = r.w;
  w.header(flags, 1, 2, 0, 3);
  w.question("_sftp._tcp.Example.Internal", kTypeSrv);  // "_sftp"@12, "_tcp"@18, "Example"@23

  w.pointer(12);
  auto at = w.rrFixed(kTypeSrv, 30);
  w.u16(10).u16(60).u16(2222);
  r.node1_at = w.size();
  w.labels("Node1").pointer(23);
  w.endRdata(at);

  w.pointer(12);
  at = w.rrFixed(kTypeSrv, 0x80000000u);  // above 2^31 - 1: must read as 0
  w.u16(20).u16(0).u16(2223);
  r.node2_at = w.size();
  w.name("NODE2.Example.Internal.");
  w.endRdata(at);

  w.pointer(r.node1_at);
  at = w.rrFixed(kTypeA, 5);
  w.u8(10).u8(0).u8(0).u8(1);
  w.endRdata(at);

  w.pointer(r.node2_at);
  at = w.rrFixed(kTypeAaaa, 7);
  for (int i = 0; i < 15; ++i) w.u8(i == 0 ? 0xfd : 0);
  w.u8(2);
  w.endRdata(at);

  w.name("node3.example.internal");
  at = w.rrFixed(kTypeA, 0x7FFFFFFF);
  w.u8(10).u8(0).u8(0).u8(3);
  w.endRdata(at);
  return r;
}

TEST(DnsWireTest, ParsesSrvReplyWithCompressionAndAdditionals) {
  const auto reply = makeSrvReply();
  const auto msg = parseMessage(reply.w.span());
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->rcode, 0);
  EXPECT_FALSE(msg->truncated);
  ASSERT_EQ(msg->records.size(), 5u);

  const auto& r = msg->records;
  EXPECT_EQ(r[0].section, Section::Answer);
  EXPECT_EQ(r[1].section, Section::Answer);
  EXPECT_EQ(r[2].section, Section::Additional);
  EXPECT_EQ(r[3].section, Section::Additional);
  EXPECT_EQ(r[4].section, Section::Additional);

  EXPECT_EQ(r[0].name, "_sftp._tcp.example.internal");
  EXPECT_EQ(r[1].name, "_sftp._tcp.example.internal");
  EXPECT_EQ(r[2].name, "node1.example.internal");
  EXPECT_EQ(r[3].name, "node2.example.internal");
  EXPECT_EQ(r[4].name, "node3.example.internal");

  EXPECT_EQ(r[0].type, kTypeSrv);
  EXPECT_EQ(r[2].type, kTypeA);
  EXPECT_EQ(r[3].type, kTypeAaaa);
  for (const auto& rr : r) EXPECT_EQ(rr.rr_class, kClassIn);

  EXPECT_EQ(r[0].ttl, 30u);
  EXPECT_EQ(r[1].ttl, 0u);
  EXPECT_EQ(r[2].ttl, 5u);
  EXPECT_EQ(r[3].ttl, 7u);
  EXPECT_EQ(r[4].ttl, 0x7FFFFFFFu);

  EXPECT_THAT(r[2].rdata, ElementsAre(10, 0, 0, 1));
  EXPECT_EQ(r[3].rdata.size(), 16u);
  EXPECT_EQ(r[3].rdata[0], 0xfd);
  EXPECT_EQ(r[3].rdata[15], 2);
  for (const auto& rr : r) {
    EXPECT_EQ(rr.rdata.data(), reply.w.bytes().data() + rr.rdata_offset);
  }
  EXPECT_EQ(r[0].rdata_offset + 6, reply.node1_at);
}

TEST(DnsWireTest, ParsesSrvRdata) {
  const auto reply = makeSrvReply();
  const auto msg = parseMessage(reply.w.span());
  ASSERT_TRUE(msg.has_value());

  const auto one = parseSrv(reply.w.span(), msg->records[0]);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->priority, 10);
  EXPECT_EQ(one->weight, 60);
  EXPECT_EQ(one->port, 2222);
  EXPECT_EQ(one->target, "node1.example.internal");

  const auto two = parseSrv(reply.w.span(), msg->records[1]);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(two->priority, 20);
  EXPECT_EQ(two->weight, 0);
  EXPECT_EQ(two->port, 2223);
  EXPECT_EQ(two->target, "node2.example.internal");

  EXPECT_FALSE(parseSrv(reply.w.span(), msg->records[2]).has_value());  // an A record
}

TEST(DnsWireTest, TtlAboveTwoToThe31IsZero) {
  struct Case {
    uint32_t wire, want;
  };
  for (const auto& [wire, want] : std::vector<Case>{{0, 0},
                                                    {1, 1},
                                                    {300, 300},
                                                    {0x7FFFFFFF, 0x7FFFFFFF},
                                                    {0x80000000, 0},
                                                    {0x80000001, 0},
                                                    {0xFFFFFFFF, 0}}) {
    Wire w;
    w.header(0x8180, 0, 1, 0, 0).name("a.example");
    const auto at = w.rrFixed(kTypeA, wire);
    w.u32(0x0A000001);
    w.endRdata(at);
    const auto msg = parseMessage(w.span());
    ASSERT_TRUE(msg.has_value());
    ASSERT_EQ(msg->records.size(), 1u);
    EXPECT_EQ(msg->records[0].ttl, want) << wire;
  }
}

TEST(DnsWireTest, RcodeAndTruncationFlag) {
  struct Case {
    uint16_t flags;
    uint16_t rcode;
    bool truncated;
  };
  for (const auto& [flags, rcode, truncated] : std::vector<Case>{{0x8180, 0, false},
                                                                 {0x8183, 3, false},  // NXDOMAIN
                                                                 {0x8182, 2, false},  // SERVFAIL
                                                                 {0x8185, 5, false},  // REFUSED
                                                                 {0x8380, 0, true},   // TC
                                                                 {0x8382, 2, true},
                                                                 {0x800F, 15, false}}) {
    Wire w;
    w.header(flags, 1, 0, 0, 0).question("x.example", kTypeSrv);
    const auto msg = parseMessage(w.span());
    ASSERT_TRUE(msg.has_value()) << flags;
    EXPECT_EQ(msg->rcode, rcode) << flags;
    EXPECT_EQ(msg->truncated, truncated) << flags;
    EXPECT_TRUE(msg->records.empty());
  }
}

TEST(DnsWireTest, AuthoritySection) {
  Wire w;
  w.header(0x8183, 0, 0, 1, 0).name("Example");
  const auto at = w.rrFixed(6 /* SOA */, 60);
  w.u8(0);
  w.endRdata(at);
  const auto msg = parseMessage(w.span());
  ASSERT_TRUE(msg.has_value());
  ASSERT_EQ(msg->records.size(), 1u);
  EXPECT_EQ(msg->records[0].section, Section::Authority);
  EXPECT_EQ(msg->records[0].name, "example");
}

TEST(DnsWireTest, ReadNameAndRootName) {
  Wire w;
  w.header(0, 0, 0, 0, 0).name("WWW.Example.ORG");  // @12
  const size_t root = w.size();
  w.u8(0);
  const size_t ptr = w.size();
  w.labels("Mail").pointer(16);  // "mail" + "example.org"
  EXPECT_EQ(readName(w.span(), 12), "www.example.org");
  EXPECT_EQ(readName(w.span(), 16), "example.org");
  EXPECT_EQ(readName(w.span(), root), "");
  EXPECT_EQ(readName(w.span(), ptr), "mail.example.org");
  EXPECT_FALSE(readName(w.span(), w.size()).has_value());
}

TEST(DnsWireTest, NonTextBytesInNamesAreEscaped) {
  Wire w;
  w.header(0, 0, 0, 0, 0).u8(5).u8('a').u8(' ').u8('"').u8('.').u8(0x0A);
  w.u8(3).u8('C').u8('O').u8('M').u8(0);
  EXPECT_EQ(readName(w.span(), 12), "a\\032\\034\\046\\010.com");
}

TEST(DnsWireTest, NormalizeName) {
  struct Case {
    std::string in, want;
  };
  for (const auto& [in, want] : std::vector<Case>{{"Node1.Example.", "node1.example"},
                                                  {"node1.example", "node1.example"},
                                                  {"A.B.C", "a.b.c"},
                                                  {".", ""},
                                                  {"", ""}}) {
    EXPECT_EQ(normalizeName(in), want) << in;
  }
}

TEST(DnsWireTest, EveryTruncationIsRejected) {
  const auto reply = makeSrvReply();
  const auto full = reply.w.span();
  ASSERT_TRUE(parseMessage(full).has_value());
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(parseMessage(full.first(len)).has_value()) << "prefix of " << len << " bytes";
  }
}

// One A record whose owner name is given by `owner` (raw bytes).
std::vector<uint8_t> withOwner(std::vector<uint8_t> owner) {
  Wire w;
  w.header(0x8180, 0, 1, 0, 0);
  for (auto b : owner) w.u8(b);
  const auto at = w.rrFixed(kTypeA, 1);
  w.u32(0x0A000001);
  w.endRdata(at);
  return w.bytes();
}

TEST(DnsWireTest, MalformedNamesAreRejected) {
  struct Case {
    std::string what;
    std::vector<uint8_t> owner;  // starts at offset 12
  };
  const std::vector<Case> cases = {
      {"pointer to itself", {0xC0, 12}},
      {"two pointers in a loop", {0xC0, 14, 0xC0, 12}},
      {"label then pointer back to it", {1, 'a', 0xC0, 12}},
      {"pointer past the end", {0xFF, 0xFF}},
      {"pointer just past the end", {0xC0, 40}},
      {"reserved label type 01", {0x41, 'a', 0}},
      {"reserved label type 10", {0x81, 'a', 0}},
      {"label length 64", {64, 'a', 0}},
  };
  for (const auto& [what, owner] : cases) {
    const auto msg = withOwner(owner);
    EXPECT_FALSE(parseMessage(msg).has_value()) << what;
    EXPECT_FALSE(readName(msg, 12).has_value()) << what;
  }
}

TEST(DnsWireTest, NameLengthLimits) {
  // 3 x 63 + 61 characters plus dots: 253 characters, 255 octets on the wire: legal.
  const std::string l63(63, 'a');
  const std::string longest = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'b');
  ASSERT_EQ(longest.size(), 253u);
  Wire ok;
  ok.header(0, 0, 0, 0, 0).name(longest);
  EXPECT_EQ(readName(ok.span(), 12), longest);

  // A pointer chain repeating 63-byte labels builds a name far beyond 255: rejected, whatever
  // the exact limit.
  Wire chain;
  chain.header(0, 0, 0, 0, 0);
  size_t prev = chain.size();
  chain.name(l63);
  for (int i = 0; i < 8; ++i) {
    const size_t here = chain.size();
    chain.labels(l63).pointer(prev);
    prev = here;
  }
  EXPECT_FALSE(readName(chain.span(), prev).has_value());
}

TEST(DnsWireTest, RdlengthPastTheEndIsRejected) {
  auto msg = withOwner({1, 'a', 0});
  ASSERT_TRUE(parseMessage(msg).has_value());
  msg[msg.size() - 5] = 5;  // rdlength 4 -> 5
  EXPECT_FALSE(parseMessage(msg).has_value());
  msg[msg.size() - 6] = 0xFF;  // rdlength 0xFF05
  EXPECT_FALSE(parseMessage(msg).has_value());
}

TEST(DnsWireTest, MoreRecordsThanTheCountsPromiseIsNotAnError) {
  auto msg = withOwner({1, 'a', 0});
  msg.push_back(0);  // trailing garbage after the last counted record
  const auto parsed = parseMessage(msg);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->records.size(), 1u);
}

TEST(DnsWireTest, MalformedSrvRdataIsRejected) {
  // rdata shorter than priority + weight + port + root name.
  {
    Wire w;
    w.header(0x8180, 0, 1, 0, 0).name("s");
    const auto at = w.rrFixed(kTypeSrv, 1);
    w.u16(1).u16(2).u16(3);
    w.endRdata(at);
    const auto msg = parseMessage(w.span());
    ASSERT_TRUE(msg.has_value());
    EXPECT_FALSE(parseSrv(w.span(), msg->records[0]).has_value());
  }
  // Target name runs past rdlength into the next record.
  {
    Wire w;
    w.header(0x8180, 0, 2, 0, 0).name("s");
    auto at = w.rrFixed(kTypeSrv, 1);
    w.u16(1).u16(2).u16(3).labels("node");
    w.endRdata(at);  // no root label inside the rdata
    w.u8(0);         // ...it is the owner name (root) of the next record
    at = w.rrFixed(kTypeA, 1);
    w.u32(0x0A000001);
    w.endRdata(at);
    const auto msg = parseMessage(w.span());
    ASSERT_TRUE(msg.has_value());
    ASSERT_EQ(msg->records.size(), 2u);
    EXPECT_FALSE(parseSrv(w.span(), msg->records[0]).has_value());
  }
  // Target name with a pointer loop.
  {
    Wire w;
    w.header(0x8180, 0, 1, 0, 0).name("s");
    const auto at = w.rrFixed(kTypeSrv, 1);
    w.u16(1).u16(2).u16(3);
    w.pointer(w.size());
    w.endRdata(at);
    const auto msg = parseMessage(w.span());
    ASSERT_TRUE(msg.has_value());
    EXPECT_FALSE(parseSrv(w.span(), msg->records[0]).has_value());
  }
}

// Random mutations of a valid reply must never crash or read out of bounds (ASan in CI), and
// whatever parses must point inside the message.
TEST(DnsWireTest, MutationFuzzNeverCrashes) {
  const auto reply = makeSrvReply();
  const auto& base = reply.w.bytes();
  std::mt19937_64 rng(20240611);
  auto below = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  size_t parsed = 0, rejected = 0;
  for (int iter = 0; iter < 200'000; ++iter) {
    std::vector<uint8_t> m = base;
    const size_t mutations = 1 + below(4);
    for (size_t k = 0; k < mutations; ++k) {
      switch (below(4)) {
        case 0:  // random byte
          m[below(m.size())] = static_cast<uint8_t>(below(256));
          break;
        case 1:  // bit flip
          m[below(m.size())] ^= static_cast<uint8_t>(1u << below(8));
          break;
        case 2:  // compression pointer to a random place
          if (m.size() > 1) {
            const size_t at = below(m.size() - 1);
            m[at] = static_cast<uint8_t>(0xC0 | below(4));
            m[at + 1] = static_cast<uint8_t>(below(256));
          }
          break;
        case 3:  // truncate
          m.resize(below(m.size()) + 1);
          break;
      }
    }
    const std::span<const uint8_t> view(m);
    const auto msg = parseMessage(view);
    (void)readName(view, below(m.size() + 2));
    if (!msg) {
      ++rejected;
      continue;
    }
    ++parsed;
    for (const auto& rr : msg->records) {
      ASSERT_LE(rr.rdata_offset + rr.rdata.size(), m.size());
      ASSERT_EQ(rr.rdata.data(), m.data() + rr.rdata_offset);
      // 255 wire bytes at most; a byte that is not plain text is written as 4 (\DDD).
      ASSERT_LE(rr.name.size(), 4 * 255u);
      ASSERT_EQ(rr.name.find_first_of(" \"\n"), std::string::npos);
      if (auto srv = parseSrv(view, rr)) {
        ASSERT_LE(srv->target.size(), 4 * 255u);
      }
    }
  }
  // Both paths were exercised.
  EXPECT_GT(parsed, 1000u);
  EXPECT_GT(rejected, 1000u);
}

}  // namespace
}  // namespace edge::discovery
