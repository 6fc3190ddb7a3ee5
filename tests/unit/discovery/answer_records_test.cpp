// Which records of a reply answer the question: type, class, owner and the CNAME chain; and the
// query name handed to c-ares for names with escaped bytes.
#include "discovery/answer_records.h"

#include <gtest/gtest.h>

#include "fake_dns.h"

namespace edge::discovery {
namespace {

using test::DnsName;
using test::DnsQuery;
using test::DnsReply;
namespace rr = test::rr;

DnsQuery question(const char* name, uint16_t type) {
  return {.id = 1, .name = DnsName::of(name), .type = type, .qclass = kClassIn};
}

// The addresses (as text) of the records selected from `reply` for `name`/`type`.
std::vector<std::string> selected(const test::Bytes& reply, const char* name, uint16_t type,
                                  uint32_t* ttl = nullptr) {
  const auto parsed = parseMessage(reply);
  EXPECT_TRUE(parsed.has_value());
  if (!parsed) return {};
  const auto answers = selectAnswers(reply, *parsed, name, type);
  if (ttl) *ttl = answers.ttl;
  std::vector<std::string> out;
  for (const auto* r : answers.records) out.push_back(r->name + "/" + std::to_string(r->type));
  return out;
}

TEST(AnswerRecords, OnlyTheAskedTypeClassAndOwnerCount) {
  const auto q = question("app.test", kTypeA);
  DnsReply reply(q);
  reply.answer(rr::a(q.name, "10.0.0.1", 30));
  reply.answer(rr::aaaa(q.name, "2001:db8::1", 5));
  reply.answer(rr::a(DnsName::of("other.test"), "10.0.0.2", 5));
  auto chaos = rr::a(q.name, "10.0.0.3", 5);
  chaos.rr_class = test::kClassChaos;
  reply.answer(chaos);
  reply.additional(rr::a(q.name, "10.0.0.4", 5));
  reply.authority(rr::a(q.name, "10.0.0.5", 5));
  uint32_t ttl = 0;
  EXPECT_EQ(selected(reply.bytes(), "app.test", kTypeA, &ttl),
            (std::vector<std::string>{"app.test/1"}));
  EXPECT_EQ(ttl, 30u) << "records not used do not shorten the TTL";
}

TEST(AnswerRecords, OwnersCompareCaseInsensitively) {
  const auto q = question("app.test", kTypeA);
  DnsReply reply(q);
  reply.answer(rr::a(DnsName::of("APP.Test"), "10.0.0.1"));
  EXPECT_EQ(selected(reply.bytes(), "app.test", kTypeA).size(), 1u);
}

TEST(AnswerRecords, TheCnameChainIsFollowedAndItsTtlsCount) {
  const auto q = question("app.test", kTypeA);
  DnsReply reply(q);
  // Out of order on purpose: the chain is followed by owner, not by position.
  reply.answer(rr::a(DnsName::of("b.test"), "10.0.0.1", 60));
  reply.answer(rr::cname(DnsName::of("a.test"), DnsName::of("b.test"), 7));
  reply.answer(rr::cname(q.name, DnsName::of("a.test"), 60));
  reply.answer(rr::a(DnsName::of("c.test"), "10.0.0.2", 60));  // not on the chain
  uint32_t ttl = 0;
  EXPECT_EQ(selected(reply.bytes(), "app.test", kTypeA, &ttl),
            (std::vector<std::string>{"b.test/1"}));
  EXPECT_EQ(ttl, 7u);
}

TEST(AnswerRecords, ACnameLoopOrAnOverlongChainEnds) {
  const auto q = question("app.test", kTypeA);
  DnsReply loop(q);
  loop.answer(rr::cname(q.name, DnsName::of("x.test")));
  loop.answer(rr::cname(DnsName::of("x.test"), q.name));
  loop.answer(rr::a(DnsName::of("x.test"), "10.0.0.1"));
  EXPECT_EQ(selected(loop.bytes(), "app.test", kTypeA).size(), 1u);

  DnsReply chain(q);
  std::string from = "app.test";
  for (int i = 0; i < 20; ++i) {
    const std::string to = "n" + std::to_string(i) + ".test";
    chain.answer(rr::cname(DnsName::of(from), DnsName::of(to)));
    from = to;
  }
  chain.answer(rr::a(DnsName::of(from), "10.0.0.1"));
  EXPECT_TRUE(selected(chain.bytes(), "app.test", kTypeA).empty()) << "20 hops > kMaxCnameChain";
}

TEST(AnswerRecords, NothingMatchingMeansNoRecordsAndNoTtl) {
  const auto q = question("app.test", kTypeSrv);
  DnsReply reply(q);
  reply.answer(rr::a(q.name, "10.0.0.1", 3));
  uint32_t ttl = 0;
  EXPECT_TRUE(selected(reply.bytes(), "app.test", kTypeSrv, &ttl).empty());
  EXPECT_EQ(ttl, UINT32_MAX);
}

TEST(CaresQueryName, EscapesEveryByteTheWayCaresReadsIt) {
  EXPECT_EQ(caresQueryName("plain.example.test"), "plain.example.test");
  EXPECT_EQ(caresQueryName("b1\\046test.svc.test"), "b1\\.test.svc.test");
  EXPECT_EQ(caresQueryName("a\\032b.test"), "a\\ b.test");
  EXPECT_EQ(caresQueryName("a\\092b.test"), "a\\\\b.test");
  EXPECT_EQ(caresQueryName("a\\.b.test"), "a\\.b.test");  // \X stays \X
  EXPECT_EQ(caresQueryName("a\\255b"), std::string("a\\\xff"
                                                   "b"));
  EXPECT_EQ(caresQueryName("a\\000b.test"), std::nullopt) << "a C string cannot carry NUL";
  EXPECT_EQ(caresQueryName("a\\256b"), std::nullopt);
  EXPECT_EQ(caresQueryName("trailing\\"), std::nullopt);
}

TEST(ReadQuestion, GivesNameAndType) {
  const auto q = question("Svc.Test", kTypeSrv);
  const auto bytes = DnsReply(q).bytes();
  const auto read = readQuestion(bytes);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->name, "svc.test");
  EXPECT_EQ(read->type, kTypeSrv);
  EXPECT_FALSE(readQuestion(std::span<const uint8_t>(bytes).first(14)));
}

}  // namespace
}  // namespace edge::discovery
