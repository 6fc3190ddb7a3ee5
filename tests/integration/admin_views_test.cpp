// /targets, /ready and /connections of the real binary against dnsmasq and real backends:
// /targets is the DNS answer and follows a change; /ready turns 503 with its reason when the last
// known good targets expire (--max-stale), until a DNS server that was down answers, and during
// --drain-delay (the "starting", NXDOMAIN and ejected cases are in admin_endpoint_test.cpp and
// admin_metrics_test.cpp); /connections shows a live transfer's bytes growing under the access
// log's id, and filters by route and limit.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "admin_fixture.h"
#include "free_port.h"
#include "run_until.h"

namespace edge::test {
namespace {

using Json = nlohmann::json;
using AdminViews = AdminFixture;

// (name, address, port, priority, weight) of every target of the only route.
using TargetRow = std::tuple<std::string, std::string, int, int, int>;

std::set<TargetRow> target_rows(const Json& targets) {
  std::set<TargetRow> rows;
  if (!targets.is_object() || !targets["routes"].is_array() || targets["routes"].size() != 1) {
    return rows;
  }
  for (const auto& t : targets["routes"][0]["targets"]) {
    rows.insert({t.value("name", ""), t.value("address", ""), t.value("port", 0),
                 t.value("priority", -1), t.value("weight", -1)});
  }
  return rows;
}

std::string describe_rows(const std::set<TargetRow>& rows) {
  std::string out;
  for (const auto& [name, address, port, priority, weight] : rows) {
    out += name + " " + address + ":" + std::to_string(port) + " p" + std::to_string(priority) +
           " w" + std::to_string(weight) + "; ";
  }
  return out;
}

TEST_F(AdminViews, TargetsAreTheDnsAnswerAndFollowAChange) {
  Backend& b1 = add_greet_echo("b1");
  Backend& b2 = add_greet_echo("b2");
  Backend& b3 = add_greet_echo("b3");
  DnsRecords first;
  add_srv(first, b1, 10, 20);
  add_srv(first, b2, 20, 5);
  start_dns(first);
  start_edge({"--admin", "127.0.0.1:0"});

  const auto answer = get("/targets");
  ASSERT_EQ(answer.status, 200);
  const auto json = Json::parse(answer.body, nullptr, false);
  const std::set<TargetRow> expected_first = {
      {"b1.svc.test", "127.0.0.1", b1.port(), 10, 20},
      {"b2.svc.test", "127.0.0.1", b2.port(), 20, 5},
  };
  EXPECT_EQ(target_rows(json), expected_first) << answer.body;
  ASSERT_TRUE(json["routes"].is_array() && json["routes"].size() == 1) << answer.body;
  const auto& route = json["routes"][0];
  EXPECT_EQ(route["type"], "srv");
  EXPECT_EQ(route["dns"]["first_lookup_done"], true);
  EXPECT_EQ(route["dns"]["expired"], false);
  EXPECT_TRUE(route["dns"]["last_answer"].is_string()) << answer.body;
  for (const auto& t : route["targets"]) EXPECT_EQ(t["health"], "healthy") << t.dump();

  // b1 gets another weight, b2 goes, b3 comes: the next lookups (TTL 1 s, refresh 1-2 s) see it.
  DnsRecords second;
  add_srv(second, b1, 10, 60);
  add_srv(second, b3, 5, 1);
  dns().restart(second);
  const std::set<TargetRow> expected_second = {
      {"b1.svc.test", "127.0.0.1", b1.port(), 10, 60},
      {"b3.svc.test", "127.0.0.1", b3.port(), 5, 1},
  };
  std::set<TargetRow> seen;
  EXPECT_TRUE(run_until(
      [&] {
        seen = target_rows(Json::parse(get("/targets").body, nullptr, false));
        return seen == expected_second;
      },
      15s, 200ms))
      << describe_rows(seen);
}

TEST_F(AdminViews, ReadyIs503UntilADnsServerThatWasDownAnswers) {
  // (A server that is up but silent keeps it "starting": admin_endpoint_test.cpp.) Here the
  // port refuses: the first round fails at once, the daemon listens, and /ready says why.
  Backend& backend = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, backend);
  start_dns(records);
  dns().stop();
  start_edge({"--admin", "127.0.0.1:0"});

  const auto down = get("/ready");
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body, "not ready: route default: no target known; DNS: connection refused\n");

  dns().restart(records);
  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 200;
      },
      10s, 100ms))
      << ready.status << " " << ready.body;
  EXPECT_EQ(ready.body, "ready\n");
  EXPECT_EQ(greeting_through_edge(), "b1");
}

TEST_F(AdminViews, ReadyIs503OnceTheLastKnownGoodTargetsExpire) {
  start_with_echo_backend({"--max-stale", "2s", "--admin", "127.0.0.1:0"});  // refresh 1-2 s
  HttpResponse ready;
  ASSERT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 200;
      },
      5s, 100ms))
      << ready.status << " " << ready.body;

  dns().stop();  // answered once, then nothing answers (the port refuses)
  ASSERT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 503;
      },
      20s, 200ms))
      << ready.status << " " << ready.body;
  EXPECT_TRUE(ready.body.starts_with(
      "not ready: route default: last known good targets expired (--max-stale); DNS: "))
      << ready.body;
  EXPECT_EQ(get("/healthz").status, 200);
  const auto targets = Json::parse(get("/targets").body, nullptr, false);
  EXPECT_EQ(targets["routes"][0]["dns"]["expired"], true) << targets.dump();
  EXPECT_TRUE(targets["routes"][0]["dns"]["last_error"].is_string()) << targets.dump();
}

TEST_F(AdminViews, ReadyIs503DuringTheDrainDelayWhileStillServing) {
  start_with_echo_backend({"--drain-delay", "3s", "--admin", "127.0.0.1:0"});
  HttpResponse ready;
  ASSERT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 200;
      },
      5s, 100ms))
      << ready.status << " " << ready.body;

  ASSERT_TRUE(signal_edge(SIGTERM));
  ASSERT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 503;
      },
      2s, 20ms))
      << ready.status << " " << ready.body;
  EXPECT_EQ(ready.body, "not ready: draining\n");
  EXPECT_EQ(greeting_through_edge(), "echo");  // still accepting during the delay
  EXPECT_EQ(get("/ready").body, "not ready: draining\n");
  EXPECT_TRUE(edge().process().wait_exit(10s));
}

TEST_F(AdminViews, ConnectionsShowALiveTransferUnderItsAccessLogId) {
  start_with_echo_backend({"--admin", "127.0.0.1:0"});
  auto client = TcpClient::connect("127.0.0.1", edge().port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->read_line(kIoTimeout).value_or("<none>"), "echo");

  // The connection's id, from its access-log open line.
  std::string id;
  ASSERT_TRUE(run_until(
      [&] {
        for (const auto& e : edge().access_events()) {
          if (e.get("event") == "open") id = e.get("id");
        }
        return !id.empty();
      },
      kIoTimeout));

  Json seen;
  auto wait_bytes = [&](std::uint64_t to_target) {
    return run_until(
        [&] {
          seen = Json::parse(get("/connections").body, nullptr, false);
          return seen.is_object() && seen["connections"].size() == 1 &&
                 seen["connections"][0]["bytes_to_target"] == to_target;
        },
        kIoTimeout, 50ms);
  };
  std::uint64_t sent = 0;
  for (const std::size_t step : {1000u, 5000u, 60000u}) {
    const std::string line = std::string(step - 1, 'x') + "\n";
    ASSERT_EQ(client->write_all(line, kIoTimeout), IoResult::ok);
    ASSERT_EQ(client->read_line(kIoTimeout).value_or("<none>").size(), step - 1);  // echoed
    sent += step;
    ASSERT_TRUE(wait_bytes(sent)) << "after " << sent << " bytes: " << seen.dump();
    const auto& c = seen["connections"][0];
    EXPECT_EQ(c["bytes_to_client"], sent + 5) << c.dump();  // "echo\n" and the echoes
    EXPECT_EQ(c["id"], id) << c.dump();
    EXPECT_EQ(c["route"], "default");
    EXPECT_EQ(c["client"], "127.0.0.1:" + std::to_string(client->local_port()));
    EXPECT_EQ(c["target_name"], "echo.svc.test");
  }
  EXPECT_EQ(seen["total"], 1);
  EXPECT_EQ(seen["shown"], 1);
  EXPECT_EQ(seen["truncated"], false);

  client->shutdown_write();
  EXPECT_EQ(client->wait_closed(kIoTimeout), IoResult::eof);
  EXPECT_TRUE(
      run_until([&] { return Json::parse(get("/connections").body, nullptr, false)["total"] == 0; },
                kIoTimeout, 50ms));
}

TEST_F(AdminViews, ConnectionsFilterByRouteAndLimit) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto alpha = free_port();
  const auto beta = free_port();
  write_file("dns_servers = [\"" + dns().address() +
             "\"]\nmin_refresh = \"1s\"\nmax_refresh = \"2s\"\n"
             "workers = 2\nadmin = \"127.0.0.1:0\"\n\n" +
             route("alpha", alpha, kService) + route("beta", beta, kService));
  start_on_file();

  std::vector<TcpClient> held;
  for (const auto port : {alpha, alpha, beta}) {
    auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout);
    ASSERT_TRUE(client);
    ASSERT_EQ(client->read_line(kIoTimeout).value_or("<none>"), "b1");  // connected through
    held.push_back(std::move(*client));
  }

  auto ask = [&](const std::string& query) {
    const auto r = get("/connections" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    return Json::parse(r.body, nullptr, false);
  };
  auto routes_of = [](const Json& j) {
    std::multiset<std::string> out;
    for (const auto& c : j["connections"]) out.insert(c.value("route", "?"));
    return out;
  };

  const auto all = ask("");
  EXPECT_EQ(all["total"], 3) << all.dump();
  EXPECT_EQ(all["shown"], 3);
  EXPECT_EQ(all["truncated"], false);
  EXPECT_EQ(routes_of(all), (std::multiset<std::string>{"alpha", "alpha", "beta"}));

  const auto a = ask("?route=alpha");
  EXPECT_EQ(a["total"], 2) << a.dump();
  EXPECT_EQ(a["shown"], 2);
  EXPECT_EQ(routes_of(a), (std::multiset<std::string>{"alpha", "alpha"}));

  const auto b = ask("?route=beta");
  EXPECT_EQ(b["total"], 1) << b.dump();
  EXPECT_EQ(routes_of(b), (std::multiset<std::string>{"beta"}));

  const auto one = ask("?limit=1");
  EXPECT_EQ(one["shown"], 1) << one.dump();
  EXPECT_EQ(one["total"], 3);
  EXPECT_EQ(one["truncated"], true);
  EXPECT_EQ(one["connections"].size(), 1u);

  const auto alpha_one = ask("?route=alpha&limit=1");
  EXPECT_EQ(alpha_one["shown"], 1) << alpha_one.dump();
  EXPECT_EQ(alpha_one["total"], 2);
  EXPECT_EQ(alpha_one["truncated"], true);
  EXPECT_EQ(routes_of(alpha_one), (std::multiset<std::string>{"alpha"}));

  const auto none = ask("?route=gamma");
  EXPECT_EQ(none["total"], 0) << none.dump();
  EXPECT_EQ(none["connections"].size(), 0u);
}

}  // namespace
}  // namespace edge::test
