// The admin endpoint of the real binary: every path, methods, ?limit= validation, readiness
// before and after the first DNS answer, POST /reload, and how start-up treats an address that
// cannot be bound (the default: a warning; an explicit one: exit 1).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "admin_fixture.h"
#include "fake_dns.h"
#include "free_port.h"
#include "run_until.h"
#include "unique_fd.h"

namespace edge::test {
namespace {

using AdminEndpoint = AdminFixture;

// A listening socket on 127.0.0.1:`port` (SO_REUSEADDR, as the daemon's), or an invalid fd with
// errno set.
UniqueFd listen_on(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int yes = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 16) != 0) {
    return UniqueFd();
  }
  return fd;
}

TEST_F(AdminEndpoint, AnswersEveryPath) {
  start_with_echo_backend(kAdminAnyPort);

  const auto healthz = get("/healthz");
  EXPECT_EQ(healthz.status, 200) << healthz.error;
  EXPECT_EQ(healthz.body, "ok\n");
  EXPECT_EQ(healthz.header("cache-control"), "no-store");

  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 200;
      },
      5s))
      << ready.status << " " << ready.body;
  EXPECT_EQ(ready.body, "ready\n");

  const auto metrics = get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");

  const auto targets = get("/targets");
  EXPECT_EQ(targets.status, 200);
  EXPECT_EQ(targets.header("content-type"), "application/json");
  const auto json = nlohmann::json::parse(targets.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(json.is_object()) << targets.body;
  ASSERT_TRUE(json["routes"].is_array()) << targets.body;
  ASSERT_EQ(json["routes"].size(), 1u) << targets.body;
  EXPECT_EQ(json["routes"][0]["name"], "default");
  EXPECT_EQ(json["routes"][0]["target"], kService);

  for (const char* path : {"/connections", "/connections?limit=5", "/connections?route=default",
                           "/connections?route=default&limit=100000"}) {
    const auto c = get(path);
    EXPECT_EQ(c.status, 200) << path << ": " << c.body;
    EXPECT_EQ(c.header("content-type"), "application/json") << path;
    EXPECT_FALSE(nlohmann::json::parse(c.body, nullptr, false).is_discarded()) << c.body;
  }

  const auto page = get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<title>edge-connector</title>"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("default-src 'none'"), std::string::npos);

  const auto head = http_request("HEAD", "127.0.0.1", admin_port(), "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(AdminEndpoint, RefusesUnknownPathsWrongMethodsAndBadLimits) {
  start_with_echo_backend(kAdminAnyPort);

  for (const char* path : {"/nope", "/healthz/x", "/metricsx", "/index.html"}) {
    const auto r = get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "404 not found\n") << path;
  }
  for (const char* path : {"/healthz", "/ready", "/metrics", "/targets", "/connections", "/"}) {
    const auto r = post(path);
    EXPECT_EQ(r.status, 405) << path;
    EXPECT_EQ(r.header("allow"), "GET, HEAD") << path;
    EXPECT_EQ(http_request("DELETE", "127.0.0.1", admin_port(), path).status, 405) << path;
  }
  const auto get_reload = get("/reload");
  EXPECT_EQ(get_reload.status, 405);
  EXPECT_EQ(get_reload.header("allow"), "POST");

  for (const char* limit : {"0", "abc", "100001", "-1", "", "5x", "99999999999999999999999"}) {
    const auto r = get(std::string("/connections?limit=") + limit);
    EXPECT_EQ(r.status, 400) << "limit=" << limit;
    EXPECT_NE(r.body.find("limit must be a number from 1 to 100000"), std::string::npos)
        << "limit=" << limit << ": " << r.body;
  }
  // A request body past the limit: refused, and what the client still sends is read and dropped
  // (a lingering close), so that it reads the answer, not a reset.
  auto client = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write_all("POST /reload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                                  std::string(100000, 'x'),
                              kIoTimeout),
            IoResult::ok);
  EXPECT_EQ(client->read_line(kIoTimeout).value_or("<none>"), "HTTP/1.1 413 Payload Too Large\r");
  // Still serving after all that.
  EXPECT_EQ(get("/healthz").status, 200);
}

TEST_F(AdminEndpoint, ReadyIs503WithTheReasonUntilTargetsAreKnown) {
  Backend& backend = add_greet_echo("b1");
  DnsRecords none;  // the service does not exist yet: serving, but no targets
  none.hosts.push_back({.name = "other.svc.test", .address = "127.0.0.1"});
  start_dns(none);
  start_edge(kAdminAnyPort);

  const auto not_ready = get("/ready");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready: route default: no target known; DNS: NXDOMAIN\n");
  EXPECT_EQ(get("/healthz").status, 200);  // alive all the same

  DnsRecords records;
  add_srv(records, backend);
  dns().restart(records);
  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = get("/ready");
        return ready.status == 200;
      },
      10s, 100ms))
      << ready.status << " " << ready.body;
}

TEST_F(AdminEndpoint, ReadyIs503WhileStartingBeforeTheFirstDnsAnswer) {
  Backend& backend = add_greet_echo("b1");
  FakeDns dns([](const DnsQuery&) { return Bytes{}; });  // silent: no first answer
  Subprocess process(
      SubprocessOptions{.argv = {edge_binary(), "--listen", "127.0.0.1:0", "--target", kService,
                                 "--dns-server", dns.address(), "--min-refresh", "1s",
                                 "--max-refresh", "2s", "--admin", "127.0.0.1:0"},
                        .unset_env = edge_env_vars()});
  ASSERT_TRUE(process.wait_for_line(Stream::err, "admin endpoint on", 10s));
  const auto port = admin_port_in(process.lines_err());
  ASSERT_TRUE(port);

  const auto starting = http_get("127.0.0.1", *port, "/ready");
  EXPECT_EQ(starting.status, 503) << starting.error;
  EXPECT_EQ(starting.body, "not ready: starting\n");
  EXPECT_EQ(http_get("127.0.0.1", *port, "/healthz").status, 200);

  dns.set_handler([&](const DnsQuery& q) {
    DnsReply reply(q);
    if (q.type == kTypeSrv) {
      reply.answer(rr::srv(q.name, 10, 10, backend.port(), DnsName::of("b1.svc.test")));
    } else if (q.type == kTypeA) {
      reply.answer(rr::a(q.name, "127.0.0.1"));
    }
    return reply.bytes();
  });
  HttpResponse ready;
  EXPECT_TRUE(run_until(
      [&] {
        ready = http_get("127.0.0.1", *port, "/ready");
        return ready.status == 200;
      },
      20s, 100ms))
      << ready.status << " " << ready.body;
  process.terminate();
}

TEST_F(AdminEndpoint, PostReloadAppliesTheFileAndSaysWhatChanged) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto p1 = free_port();
  const auto p2 = free_port();
  const std::string head = "dns_servers = [\"" + dns().address() +
                           "\"]\nmin_refresh = \"100ms\"\nmax_refresh = \"1s\"\n"
                           "workers = 1\nadmin = \"127.0.0.1:0\"\n\n";
  write_file(head + route("first", p1, kService));
  start_on_file();
  EXPECT_EQ(greeting(p1), "b1");
  EXPECT_EQ(greeting(p2), "<connect failed>");

  write_file(head + route("first", p1, kService) + route("second", p2, kService));
  const auto applied = post("/reload");
  EXPECT_EQ(applied.status, 200) << applied.error;
  EXPECT_NE(applied.body.find("added route second"), std::string::npos) << applied.body;
  EXPECT_EQ(greeting(p2), "b1");  // applied before the answer
  EXPECT_TRUE(has_line(edge().stderr_lines(), "reload: added route second"));

  const auto again = post("/reload");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "no change\n");

  write_file(head + route("first", p1, kService, "colour = \"blue\""));
  const auto invalid = post("/reload");
  EXPECT_EQ(invalid.status, 500);
  EXPECT_NE(invalid.body.find("colour"), std::string::npos) << invalid.body;
  EXPECT_NE(invalid.body.find("keeping the running configuration"), std::string::npos)
      << invalid.body;
  EXPECT_EQ(greeting(p2), "b1");  // nothing changed

  // A page of another site may not ask for it (a form POST needs no preflight).
  const auto cross = post("/reload", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(cross.status, 403);
}

TEST_F(AdminEndpoint, PostReloadWithoutAConfigFileSaysSo) {
  start_with_echo_backend(kAdminAnyPort);
  const auto r = post("/reload");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "nothing to reload (no --config file)\n");
  // `curl -X POST URL` sends no Content-Length: no body, answered as any other POST.
  auto client = TcpClient::connect("127.0.0.1", admin_port(), kIoTimeout);
  ASSERT_TRUE(client);
  ASSERT_EQ(client->write_all("POST /reload HTTP/1.1\r\nHost: x\r\n\r\n", kIoTimeout),
            IoResult::ok);
  EXPECT_EQ(client->read_line(kIoTimeout).value_or("<none>"),
            "HTTP/1.1 500 Internal Server Error\r");
  EXPECT_TRUE(has_line(edge().stderr_lines(), "POST /reload: nothing to reload"));
}

TEST_F(AdminEndpoint, OffListensOnlyOnTheRoutes) {
  start_with_echo_backend({"--admin", "off"});
  EXPECT_TRUE(has_line(edge().stderr_lines(), "admin endpoint off"));
  EXPECT_FALSE(admin_port_in(edge().stderr_lines()));
  EXPECT_EQ(listening_ports(edge().process().pid()), std::set<std::uint16_t>{edge().port()});
}

TEST_F(AdminEndpoint, ListensOnTheRouteAndTheAdminPort) {  // the check above can fail
  start_with_echo_backend(kAdminAnyPort);
  EXPECT_EQ(listening_ports(edge().process().pid()),
            (std::set<std::uint16_t>{edge().port(), admin_port()}));
}

TEST_F(AdminEndpoint, DefaultAddressTakenIsAWarningAndTheProxyServes) {
  // Hold 127.0.0.1:9901 (another test's daemon may have it for a while: wait our turn).
  UniqueFd holder;
  ASSERT_TRUE(run_until(
      [&] {
        holder = listen_on(9901);
        return holder.get() >= 0;
      },
      60s, 200ms))
      << "127.0.0.1:9901 stayed taken for 60 s";
  start_with_echo_backend();
  EXPECT_TRUE(has_line(edge().stderr_lines(), "the default address is taken"));
  EXPECT_TRUE(has_line(edge().stderr_lines(), "cannot listen on 127.0.0.1:9901"));
  EXPECT_FALSE(admin_port_in(edge().stderr_lines()));
  EXPECT_EQ(greeting_through_edge(), "echo");
}

TEST_F(AdminEndpoint, AnUpgradeHandsTheAddressToTheNewProcess) {
  Backend& b1 = add_greet_echo("b1");
  DnsRecords records;
  add_srv(records, b1);
  start_dns(records);
  const auto listen = free_port();
  const std::string admin = "127.0.0.1:" + std::to_string(free_port());
  write_file("dns_servers = [\"" + dns().address() + "\"]\nworkers = 1\nadmin = \"" + admin +
             "\"\nupgrade_socket = \"" + dir() + "/upgrade.sock\"\n\n" +
             route("r", listen, kService));
  start_on_file();
  ASSERT_EQ(get("/healthz").status, 200);

  // The same address, set explicitly: not "taken" while the old process hands over.
  EdgeProcess next(
      EdgeOptions{.args = {"--config", path(), "--upgrade-from", dir() + "/upgrade.sock"},
                  .default_listen = false});
  EXPECT_TRUE(next.process().wait_for_line(Stream::err, "admin endpoint on http://" + admin, 10s))
      << "the new process never bound the admin address";
  EXPECT_TRUE(has_line(edge().stderr_lines(), "upgrade: handed 1 listening socket(s)"));
  const auto healthz = http_get("127.0.0.1", admin_port(), "/healthz");
  EXPECT_EQ(healthz.status, 200) << healthz.error;
  EXPECT_TRUE(next.process().running());
  next.process().terminate();
  edge_exit_expected_ = true;  // the old one drains and exits
}

TEST_F(AdminEndpoint, ExplicitAddressTakenStopsStartUp) {
  const auto port = free_port();
  UniqueFd holder = listen_on(port);
  ASSERT_GE(holder.get(), 0) << std::strerror(errno);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  const std::string expected =
      "admin endpoint (--admin): cannot listen on " + address + ": Address already in use";
  for (const auto& [args, env] :
       std::vector<std::pair<std::vector<std::string>, std::map<std::string, std::string>>>{
           {{"--admin", address}, {}}, {{}, {{"EDGE_ADMIN", address}}}}) {
    auto all = args;
    all.insert(all.end(), {"--listen", "127.0.0.1:0", "--target", "a.svc.test", "--type", "a",
                           "--target-port", "1"});
    const auto run = run_edge_to_exit(all, env);
    ASSERT_TRUE(run.status);
    EXPECT_EQ(*run.status, 1);
    EXPECT_TRUE(has_line(run.err, expected)) << (run.err.empty() ? "" : run.err.back());
    EXPECT_FALSE(has_line(run.err, "listening on "));
  }
}

}  // namespace
}  // namespace edge::test
