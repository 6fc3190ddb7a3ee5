// Answers a DNS server may send, legal or hostile, against the real binary (FakeDns sends what
// dnsmasq refuses to): bad target names, addresses it must never connect to, records that do
// not answer the question, error codes, truncation, huge and malformed answers.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <set>

#include "edge_fixture.h"
#include "fake_dns.h"
#include "run_until.h"

namespace edge::test {
namespace {

const DnsName kServiceName = DnsName::of(kService);

class HostileDns : public EdgeFixture {
 protected:
  // Stops the fake server when the test body ends: its handler may capture the test's locals
  // by reference, and they are gone before TearDown.
  struct FakeStopper {
    explicit FakeStopper(HostileDns& f) : fixture(f) {}
    FakeStopper(const FakeStopper&) = delete;
    HostileDns& fixture;
    ~FakeStopper() { fixture.stop_fake(); }
  };

  // Keep the result until the end of the test: `const auto fake = start_fake(...);`.
  [[nodiscard]] FakeStopper start_fake(DnsHandler handler) {
    fake_ = std::make_unique<FakeDns>(std::move(handler));
    return FakeStopper(*this);
  }

  void stop_fake() {
    if (fake_ && HasFailure())
      std::cout << "fake DNS queries: " << fake_->describe_queries() << "\n";
    fake_.reset();
  }

  std::vector<std::string> fake_args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {
        "--target", kService,        "--dns-server", fake_->address(),    "--min-refresh",
        "1s",       "--max-refresh", "1s",           "--connect-timeout", "2s"};
    for (auto& a : extra) args.push_back(std::move(a));
    return args;
  }

  EdgeProcess& start_edge_on_fake(std::vector<std::string> extra = {}) {
    return start_edge_with({.args = fake_args(std::move(extra))});
  }

  // Waits for `rounds` more SRV queries: the daemon has seen that many more answers.
  bool wait_srv_rounds(std::size_t rounds) {
    const std::size_t target = fake_->queries(kService, kTypeSrv) + rounds;
    return run_until([&] { return fake_->queries(kService, kTypeSrv) >= target; }, 10s);
  }

  std::size_t stderr_count(const std::string& text) const {
    return edge_->process().count_lines(Stream::err, text);
  }

  // Answers A queries for `hosts`, NXDOMAIN for other names, and SRV queries with `srv`.
  static DnsHandler zone(std::function<void(DnsReply&)> srv,
                         std::map<std::string, std::string> hosts) {
    return [srv = std::move(srv), hosts = std::move(hosts)](const DnsQuery& q) {
      DnsReply reply(q);
      if (q.type == kTypeSrv && q.name.text() == kService) {
        srv(reply);
      } else if (auto it = hosts.find(q.name.text()); it != hosts.end()) {
        if (q.type == kTypeA) reply.answer(rr::a(q.name, it->second));
      } else {
        reply.rcode(kNxDomain);
      }
      return reply.bytes();
    };
  }

  std::unique_ptr<FakeDns> fake_;  // declared after the fixture's members: outlives no one
};

// Defect 2: c-ares refused the first name synchronously and the round ended before the second.
TEST_F(HostileDns, ATargetNameCaresRefusesCostsOnlyItself) {
  Backend& good = add_greet_echo("good");
  const DnsName bad{{std::string(30, 'x') + " " + std::string(32, 'y'), "svc", "test"}};
  ASSERT_EQ(bad.labels[0].size(), 63u);
  const auto fake = start_fake(zone(
      [&](DnsReply& r) {
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), bad));
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
      },
      {{"good.svc.test", "127.0.0.1"}}));
  start_edge_on_fake();
  const auto counts = spread(10);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 10) << describe(counts);
  EXPECT_GE(fake_->queries("good.svc.test", kTypeA), 1u);
}

// The same with a name no query can carry (a NUL byte): it is refused before c-ares sees it.
TEST_F(HostileDns, ATargetNameWithANulByteCostsOnlyItself) {
  Backend& good = add_greet_echo("good");
  const DnsName bad{{std::string("a\0b", 3), "svc", "test"}};
  const auto fake = start_fake(zone(
      [&](DnsReply& r) {
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), bad));
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
      },
      {{"good.svc.test", "127.0.0.1"}}));
  start_edge_on_fake();
  const auto counts = spread(10);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 10) << describe(counts);
  ASSERT_TRUE(wait_srv_rounds(2));
  EXPECT_EQ(stderr_count("SRV target a\\000b.svc.test has no address"), 1u);
}

// Defect 8: 0.0.0.0 (and its IPv6 forms) reach the edge host's own loopback services.
TEST_F(HostileDns, UnspecifiedAddressesAreNeverConnectedTo) {
  Backend& good = add_greet_echo("good");
  Backend& local = add_greet_echo("local-only-service");  // on 127.0.0.1 only
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    const std::string name = q.name.text();
    if (q.type == kTypeSrv && name == kService) {
      for (const char* host : {"z4.svc.test", "z6.svc.test", "zm.svc.test"}) {
        r.answer(rr::srv(kServiceName, 10, 10, local.port(), DnsName::of(host)));
      }
      r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
    } else if (name == "z4.svc.test" && q.type == kTypeA) {
      r.answer(rr::a(q.name, "0.0.0.0"));
    } else if (name == "z6.svc.test" && q.type == kTypeAaaa) {
      r.answer(rr::aaaa(q.name, "::"));
    } else if (name == "zm.svc.test" && q.type == kTypeAaaa) {
      r.answer(rr::aaaa(q.name, "::ffff:0.0.0.0"));
    } else if (name == "good.svc.test" && q.type == kTypeA) {
      r.answer(rr::a(q.name, "127.0.0.1"));
    }
    return r.bytes();
  });
  start_edge_on_fake();
  const auto counts = spread(20);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 20) << describe(counts);
  EXPECT_EQ(local.accepted(), 0);
  ASSERT_TRUE(wait_srv_rounds(2));
  for (const std::string ep : {"0.0.0.0:", "[::]:", "[::ffff:0.0.0.0]:"}) {
    EXPECT_EQ(stderr_count(ep + std::to_string(local.port()) + ": unspecified address"), 1u) << ep;
  }
}

// Defect 10: port 0 and broadcast records replaced a working set; they are dropped before.
TEST_F(HostileDns, AnAnswerWithNothingUsableKeepsTheLastKnownGoodTargets) {
  Backend& good = add_greet_echo("good");
  std::atomic<bool> hostile{false};
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    const std::string name = q.name.text();
    if (q.type == kTypeSrv && name == kService) {
      if (hostile) {
        r.answer(rr::srv(kServiceName, 10, 10, 0, DnsName::of("good.svc.test")));
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("bc.svc.test")));
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("mc.svc.test")));
      } else {
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
      }
    } else if (q.type == kTypeA && name == "good.svc.test") {
      r.answer(rr::a(q.name, "127.0.0.1"));
    } else if (q.type == kTypeA && name == "bc.svc.test") {
      r.answer(rr::a(q.name, "255.255.255.255"));
    } else if (q.type == kTypeA && name == "mc.svc.test") {
      r.answer(rr::a(q.name, "224.0.0.1"));
    }
    return r.bytes();
  });
  start_edge_on_fake();
  ASSERT_EQ(greeting_through_edge(), "good");
  hostile = true;
  ASSERT_TRUE(wait_srv_rounds(2));
  const auto counts = spread(10);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 10) << describe(counts);
  EXPECT_EQ(stderr_count("target removed"), 0u);
  EXPECT_GE(stderr_count("no usable target"), 1u);
  EXPECT_EQ(stderr_count("127.0.0.1:0: port 0"), 1u);
  EXPECT_EQ(stderr_count("255.255.255.255:" + std::to_string(good.port()) + ": broadcast"), 1u);
  EXPECT_EQ(stderr_count("224.0.0.1:" + std::to_string(good.port()) + ": multicast"), 1u);
}

// Defect 9: an answer naming the daemon's own listener made one connection thousands of hops.
TEST_F(HostileDns, ItsOwnListenerIsNeverATarget) {
  Backend& good = add_greet_echo("good");
  std::atomic<std::uint16_t> self_port{0};
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    const std::string name = q.name.text();
    if (q.type == kTypeSrv && name == kService) {
      r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
      if (self_port != 0) {
        r.answer(rr::srv(kServiceName, 10, 10, self_port, DnsName::of("self.svc.test")));
      }
    } else if (q.type == kTypeA && (name == "good.svc.test" || name == "self.svc.test")) {
      r.answer(rr::a(q.name, "127.0.0.1"));
    }
    return r.bytes();
  });
  start_edge_on_fake({"--workers", "1"});
  self_port = edge().port();
  ASSERT_TRUE(wait_srv_rounds(2));
  const auto counts = spread(20);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 20) << describe(counts);
  ASSERT_TRUE(edge().wait_access_log(20, 5s));
  const std::string self = "127.0.0.1:" + std::to_string(edge().port());
  for (const auto& record : edge().access_log()) EXPECT_NE(record.get("target"), self);
  EXPECT_EQ(edge().access_log().size(), 20u) << "connections looped through the daemon";
  EXPECT_EQ(stderr_count(self + ": this process's own listener"), 1u);
}

// Defect 11 (A/AAAA): only records of the asked type and class owned by the question count.
TEST_F(HostileDns, RecordsThatDoNotAnswerTheQuestionAreIgnored) {
  Backend* good = nullptr;
  Backend* evil = nullptr;
  for (int attempt = 0; attempt < 10 && evil == nullptr; ++attempt) {
    backends_.clear();
    good = &add_backend({.id = "good", .address = "127.0.0.2"});
    try {
      evil = &add_backend({.id = "evil", .address = "127.0.0.3", .port = good->port()});
    } catch (const std::system_error&) {  // that port is taken on 127.0.0.3: try another
    }
  }
  ASSERT_NE(evil, nullptr);
  const DnsName app = DnsName::of("app.svc.test");
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    if (q.name.text() != "app.svc.test") return r.rcode(kNxDomain).bytes();
    r.answer(rr::a(app, "127.0.0.2"));
    r.answer(rr::a(DnsName::of("unrelated.svc.test"), "127.0.0.3"));  // wrong owner
    r.answer(rr::aaaa(app, "::1"));                                   // wrong type
    DnsRr chaos = rr::a(app, "127.0.0.3");
    chaos.rr_class = kClassChaos;  // wrong class
    r.answer(chaos);
    // A CNAME that does not start at the question leads nowhere.
    r.answer(rr::cname(DnsName::of("other.svc.test"), DnsName::of("evil.svc.test")));
    r.answer(rr::a(DnsName::of("evil.svc.test"), "127.0.0.3"));
    r.additional(rr::a(app, "127.0.0.3"));  // not the answer section
    return r.bytes();
  });
  start_edge_with({.args = {"--type", "a", "--target", "app.svc.test", "--target-port",
                            std::to_string(good->port()), "--dns-server", fake_->address()}});
  const auto counts = spread(20);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 20) << describe(counts);
  EXPECT_EQ(evil->accepted(), 0);
}

TEST_F(HostileDns, TheQuestionsCnameChainIsFollowedInsideTheAnswer) {
  Backend& good = add_greet_echo("good");
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    if (q.name.text() != "app.svc.test" || q.type != kTypeA) return r.rcode(kNxDomain).bytes();
    r.answer(rr::cname(q.name, DnsName::of("alias1.svc.test")));
    r.answer(rr::cname(DnsName::of("alias1.svc.test"), DnsName::of("alias2.svc.test")));
    r.answer(rr::a(DnsName::of("alias2.svc.test"), "127.0.0.1"));
    return r.bytes();
  });
  start_edge_with({.args = {"--type", "a", "--target", "app.svc.test", "--target-port",
                            std::to_string(good.port()), "--dns-server", fake_->address()}});
  EXPECT_EQ(greeting_through_edge(), "good");
}

// Defect 11 (SRV): SRV records of another owner and additional addresses of other names.
TEST_F(HostileDns, SrvRecordsAndAdditionalAddressesOfOtherNamesAreIgnored) {
  Backend& good = add_greet_echo("good");
  Backend& evil = add_greet_echo("evil");
  const auto fake = start_fake(zone(
      [&](DnsReply& r) {
        r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
        r.answer(rr::srv(DnsName::of("_other._tcp.svc.test"), 0, 10, evil.port(),
                         DnsName::of("evil.svc.test")));
        r.additional(rr::a(DnsName::of("good.svc.test"), "127.0.0.1"));
        r.additional(rr::a(DnsName::of("evil.svc.test"), "127.0.0.1"));
      },
      {{"evil.svc.test", "127.0.0.1"}}));
  start_edge_on_fake();
  const auto counts = spread(20);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 20) << describe(counts);
  EXPECT_EQ(evil.accepted(), 0);
  EXPECT_EQ(fake_->queries("good.svc.test", kTypeA), 0u) << "the additional section was ignored";
}

// Defect 12: a label holding a dot (b1\046test) was asked as b1046test.
TEST_F(HostileDns, ATargetNameWithAnEscapedByteIsQueriedAsItCame) {
  Backend& good = add_greet_echo("good");
  const DnsName dotted{{"b1.test", "svc", "test"}};
  ASSERT_EQ(dotted.text(), "b1\\046test.svc.test");
  const auto fake = start_fake(
      zone([&](DnsReply& r) { r.answer(rr::srv(kServiceName, 10, 10, good.port(), dotted)); },
           {{dotted.text(), "127.0.0.1"}}));
  start_edge_on_fake();
  EXPECT_EQ(greeting_through_edge(), "good");
  EXPECT_GE(fake_->queries(dotted.text(), kTypeA), 1u);
  EXPECT_EQ(fake_->queries("b1046test.svc.test", kTypeA), 0u);
}

// The longest legal name (255 bytes on the wire) works as a target.
TEST_F(HostileDns, ATargetNameOfTheMaximumLengthWorks) {
  Backend& good = add_greet_echo("good");
  const DnsName longest{
      {std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(61, 'd')}};
  ASSERT_EQ(longest.wire().size(), 255u);
  const auto fake = start_fake(
      zone([&](DnsReply& r) { r.answer(rr::srv(kServiceName, 10, 10, good.port(), longest)); },
           {{longest.text(), "127.0.0.1"}}));
  start_edge_on_fake();
  EXPECT_EQ(greeting_through_edge(), "good");
}

// Defect 13: SERVFAIL, REFUSED and NOTIMP were all logged as "connection refused".
class ResponseCodes : public HostileDns, public ::testing::WithParamInterface<const char*> {};

TEST_P(ResponseCodes, AreLoggedByName) {
  const std::string name = GetParam();
  const std::map<std::string, std::uint8_t> codes = {
      {"SERVFAIL", kServFail}, {"REFUSED", kRefused}, {"NOTIMP", kNotImp}, {"FORMERR", kFormErr}};
  const std::uint8_t code = codes.at(name);
  const auto fake =
      start_fake([code](const DnsQuery& q) { return DnsReply(q).rcode(code).bytes(); });
  start_edge_on_fake();
  EXPECT_TRUE(run_until([&] { return stderr_count("lookup failed (" + name + ")") >= 1; }, 5s));
  EXPECT_EQ(stderr_count("connection refused"), 0u);
}

INSTANTIATE_TEST_SUITE_P(HostileDns, ResponseCodes,
                         ::testing::Values("SERVFAIL", "REFUSED", "NOTIMP", "FORMERR"),
                         [](const auto& param_info) { return std::string(param_info.param); });

// A truncated UDP reply makes c-ares ask again over TCP, where the full answer comes.
TEST_F(HostileDns, ATruncatedAnswerIsFetchedOverTcp) {
  Backend& good = add_greet_echo("good");
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    if (q.type == kTypeSrv && !q.tcp) return r.truncated().bytes();
    if (q.type == kTypeSrv) {
      r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
      r.additional(rr::a(DnsName::of("good.svc.test"), "127.0.0.1"));
    }
    return r.bytes();
  });
  start_edge_on_fake();
  EXPECT_EQ(greeting_through_edge(), "good");
  EXPECT_GE(fake_->queries_over_tcp(), 1u);
}

// ~1,500 SRV records with TTL 0 over TCP: the daemon resolves a bounded number of names, keeps
// serving, and a 0 TTL does not make it ask more often than --min-refresh.
TEST_F(HostileDns, AHugeAnswerWithZeroTtlsIsBounded) {
  Backend& good = add_greet_echo("good");
  constexpr int kRecords = 1500;
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    const std::string name = q.name.text();
    if (q.type == kTypeSrv && !q.tcp) return r.truncated().bytes();
    if (q.type == kTypeSrv) {
      for (int i = 0; i < kRecords; ++i) {
        DnsRr srv = rr::srv(kServiceName, 10, 10, good.port(),
                            DnsName::of("h" + std::to_string(i) + ".svc.test"), 0);
        srv.owner = {0xC0, 0x0C};  // compressed: points at the question
        r.answer(srv);
      }
    } else if (q.type == kTypeA && name.starts_with("h")) {
      r.answer(rr::a(q.name, "127.0.0.1", 0));
    }
    return r.bytes();
  });
  start_edge_on_fake();
  const auto counts = spread(5);
  EXPECT_EQ(counts.count("good") ? counts.at("good") : 0, 5) << describe(counts);
  std::size_t names = 0;
  for (int i = 0; i < kRecords; ++i) {
    if (fake_->queries("h" + std::to_string(i) + ".svc.test", kTypeA) > 0) ++names;
  }
  EXPECT_EQ(names, 256u);
  EXPECT_EQ(stderr_count("more than 256 SRV target names"), 1u);
}

// A compression pointer that points at itself: a malformed reply, the last good set stays.
TEST_F(HostileDns, APointerLoopIsAMalformedReplyAndTheSetStays) {
  Backend& good = add_greet_echo("good");
  std::atomic<bool> hostile{false};
  const auto fake = start_fake([&](const DnsQuery& q) {
    DnsReply r(q);
    if (q.type != kTypeSrv) return r.bytes();
    if (hostile) {
      // The question ends at 12 + name + 4; the first answer's owner starts there.
      const auto at = static_cast<std::uint16_t>(12 + q.name.wire().size() + 4);
      DnsRr loop = rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test"));
      loop.owner = {static_cast<std::uint8_t>(0xC0 | (at >> 8)),
                    static_cast<std::uint8_t>(at & 0xff)};
      return r.answer(loop).bytes();
    }
    r.answer(rr::srv(kServiceName, 10, 10, good.port(), DnsName::of("good.svc.test")));
    r.additional(rr::a(DnsName::of("good.svc.test"), "127.0.0.1"));
    return r.bytes();
  });
  start_edge_on_fake();
  ASSERT_EQ(greeting_through_edge(), "good");
  hostile = true;
  ASSERT_TRUE(wait_srv_rounds(2));
  EXPECT_EQ(greeting_through_edge(), "good");
  EXPECT_GE(stderr_count("lookup failed (malformed reply)"), 1u);
}

// SIGTERM while the daemon waits (up to 10 s) for a first DNS answer: a clean stop, status 0.
TEST_F(HostileDns, SigtermDuringTheFirstDnsWaitStopsCleanly) {
  const auto fake = start_fake([](const DnsQuery&) { return Bytes{}; });  // never answers
  std::vector<std::string> argv = {edge_binary(), "--listen", "127.0.0.1:0"};
  for (auto& a : fake_args()) argv.push_back(std::move(a));
  Subprocess edge({.argv = std::move(argv), .unset_env = edge_env_vars()});
  ASSERT_TRUE(run_until([&] { return fake_->queries(kService, kTypeSrv) >= 1; }, 5s));
  const auto sent = std::chrono::steady_clock::now();
  edge.send_signal(SIGTERM);
  const auto status = edge.wait_exit(3s);
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(status, 0);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(edge.count_lines(Stream::err, "stopped"), 1u);
  if (HasFailure()) {
    for (const auto& line : edge.lines_err()) std::cout << "  " << line << "\n";
  }
}

}  // namespace
}  // namespace edge::test
