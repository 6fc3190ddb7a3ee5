// The status page (GET /) in a real browser: headless Chromium loads it, its script runs (under
// the server's Content-Security-Policy) and the rendered DOM shows the routes and targets.
// Screenshots (desktop 1280x900 and phone 390x844) go to the build directory:
//   status-page-desktop.png, status-page-phone.png            from the real binary
//   status-page-sample-{desktop,phone,dark}.png               from sample data (below)
// The sample test serves the same page with made-up /targets and /metrics from an in-process
// server: hostile names must show as text, and rates must come out of two polls.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "admin/admin_server.h"
#include "admin_fixture.h"
#include "run_until.h"

#ifndef EDGE_BUILD_DIR
#error "EDGE_BUILD_DIR must name the build directory (set by CMake)"
#endif

namespace edge::test {
namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

bool has_chromium() {
  return ::access(kChromium, X_OK) == 0;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Runs headless Chromium with its own profile directory; returns its stdout. The page gets 5 s of
// virtual time (two polls, 2 s apart, after the first).
class Browser {
 public:
  Browser() {
    profile_ = ::testing::TempDir() + "edge-chromium.XXXXXX";
    if (::mkdtemp(profile_.data()) == nullptr) profile_.clear();
  }
  ~Browser() {
    std::error_code ignored;
    if (!profile_.empty()) std::filesystem::remove_all(profile_, ignored);
  }

  std::string run(std::vector<std::string> args, const std::string& url) {
    std::vector<std::string> argv = {kChromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-extensions",
                                     "--user-data-dir=" + profile_,
                                     "--virtual-time-budget=5000"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    Subprocess chromium(SubprocessOptions{.argv = argv});
    const auto status = chromium.wait_exit(60s);
    EXPECT_TRUE(status) << "chromium did not finish in 60 s";
    if (!status) chromium.terminate(1s);
    return joined(chromium.lines_out());
  }

  std::string dom(const std::string& url) { return run({"--dump-dom"}, url); }

  // Saves a screenshot as `name` in the build directory; fails the test if none was written.
  void screenshot(const std::string& url, const std::string& name, const std::string& size,
                  std::vector<std::string> extra = {}) {
    const std::string path = std::string(EDGE_BUILD_DIR) + "/" + name;
    std::filesystem::remove(path);
    extra.insert(extra.end(),
                 {"--screenshot=" + path, "--window-size=" + size, "--hide-scrollbars"});
    run(extra, url);
    std::ifstream in(path, std::ios::binary);
    std::string magic(8, '\0');
    in.read(magic.data(), 8);
    EXPECT_EQ(magic, "\x89PNG\r\n\x1a\n") << "no PNG screenshot at " << path;
    EXPECT_GT(std::filesystem::exists(path) ? std::filesystem::file_size(path) : 0, 5000u) << path;
    std::cout << "screenshot: " << path << "\n";
  }

 private:
  std::string profile_;
};

using StatusPage = AdminFixture;

TEST_F(StatusPage, ShowsTheRoutesAndTargetsOfTheRunningBinary) {
  if (!has_chromium()) GTEST_SKIP() << kChromium << " is not installed";
  start_with_echo_backend(kAdminAnyPort);
  ASSERT_TRUE(run_until([&] { return get("/ready").status == 200; }, 5s));
  const std::string url = "http://127.0.0.1:" + std::to_string(admin_port()) + "/";

  Browser browser;
  const auto dom = browser.dom(url);
  ASSERT_NE(dom.find("<title>edge-connector</title>"), std::string::npos) << dom.substr(0, 500);
  // Rendered by the script (absent from the page as served): the route, its target, readiness.
  EXPECT_NE(dom.find("data-route=\"default\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("<h2>default</h2>"), std::string::npos) << dom;
  EXPECT_NE(dom.find(kService), std::string::npos) << dom;
  EXPECT_NE(dom.find(">Ready<"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("class=\"banner show\""), std::string::npos) << "an error banner\n" << dom;
  // Every target /targets lists is on the page too.
  const auto targets = nlohmann::json::parse(get("/targets").body, nullptr, false);
  ASSERT_FALSE(targets.is_discarded());
  for (const auto& route : targets["routes"]) {
    EXPECT_NE(dom.find("data-route=\"" + route["name"].get<std::string>() + "\""),
              std::string::npos);
    for (const auto& target : route["targets"]) {
      EXPECT_NE(dom.find(target["name"].get<std::string>()), std::string::npos) << target.dump();
    }
  }

  browser.screenshot(url, "status-page-desktop.png", "1280,900");
  browser.screenshot(url, "status-page-phone.png", "390,844");
}

// Sample data served by the real admin server (so with the real page and its headers).
class SampleServer {
 public:
  SampleServer() {
    admin::Handlers handlers;
    handlers.ready = [] { return std::pair<bool, std::string>(false, "no targets"); };
    handlers.targets = [] { return std::string(kTargets); };
    handlers.metrics = [this] {
      // Every poll: +6 connections, +4 KiB to targets, +4 MiB to clients on route sftp.
      const long n = ++polls_;
      return "edge_build_info{version=\"9.8.7\"} 1\n"
             "edge_connections_accepted_total{route=\"sftp\"} " +
             std::to_string(6 * n) +
             "\n"
             "edge_bytes_to_target_total{route=\"sftp\"} " +
             std::to_string(4096 * n) +
             "\n"
             "edge_bytes_to_client_total{route=\"sftp\"} " +
             std::to_string((4L << 20) * n) +
             "\n"
             "edge_connections_active{route=\"sftp\"} 17\n"
             "edge_connections_active{route=\"ldaps\"} 2\n";
    };
    admin::AdminServer::BindError error;
    server_ = admin::AdminServer::bind({asio::ip::make_address("127.0.0.1"), 0},
                                       std::move(handlers), error);
    EXPECT_TRUE(server_) << error.message;
    if (server_) server_->start();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_ ? server_->endpoint().port() : 0) + "/";
  }
  long polls() const { return polls_; }

  static constexpr const char* kTargets = R"({"routes": [
    {"name": "sftp", "listen": "*:2222", "target": "_sftp._tcp.example.internal", "type": "srv",
     "dns": {"last_answer": "2s ago", "ttl_left_s": 28, "failures": 0, "last_known_good": false},
     "targets": [
       {"name": "sftp-a.example.internal", "address": "10.0.1.11", "port": 22, "priority": 10,
        "weight": 60, "health": "healthy", "active_connections": 12, "connections_total": 4810},
       {"name": "sftp-b.example.internal", "address": "2001:db8::22", "port": 22, "priority": 10,
        "weight": 40, "health": "healthy", "active_connections": 5, "connections_total": 3377},
       {"name": "<img src=x onerror=\"document.title='pwned'\">evil.example", "address": "10.0.1.13",
        "port": 22, "priority": 20, "weight": 0, "health": "ejected: connect refused",
        "active_connections": 0, "connections_total": 91}]},
    {"name": "ldaps", "listen": "127.0.0.1:6360", "target": "ldap.example.internal", "type": "a",
     "dns": {"last_answer": "failed: timeout", "ttl_left_s": 0, "failures": 3,
             "last_known_good": true},
     "targets": [
       {"name": "ldap.example.internal", "address": "10.0.2.5", "port": 636, "priority": 0,
        "weight": 0, "health": "unknown", "active_connections": 2, "connections_total": 120}]}
  ]})";

 private:
  std::atomic<long> polls_{0};
  std::unique_ptr<admin::AdminServer> server_;  // after polls_: stopped before it goes
};

TEST(StatusPageSample, RendersHostileNamesAsTextAndRatesFromTwoPolls) {
  if (!has_chromium()) GTEST_SKIP() << kChromium << " is not installed";
  SampleServer sample;
  Browser browser;
  const auto dom = browser.dom(sample.url());
  EXPECT_GE(sample.polls(), 2);
  EXPECT_EQ(dom.find("class=\"banner show\""), std::string::npos) << "an error banner\n" << dom;

  for (const char* text :
       {"<h2>sftp</h2>", "<h2>ldaps</h2>", "sftp-a.example.internal", "[2001:db8::22]:22",
        "10.0.2.5:636", "_sftp._tcp.example.internal", "v9.8.7", "Not ready: no targets",
        "ejected: connect refused", "failed: timeout"}) {
    EXPECT_NE(dom.find(text), std::string::npos) << text << "\n" << dom;
  }
  // The hostile name is text: escaped in the serialised DOM, no <img> element, no script ran.
  EXPECT_NE(dom.find("&lt;img src=x onerror=\"document.title='pwned'\"&gt;evil.example"),
            std::string::npos)
      << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("pwned</title>"), std::string::npos) << dom;
  // Rates between two polls 2 s (virtual time) apart: 6 connections, 4 KiB, 4 MiB per poll.
  EXPECT_NE(dom.find(">3.0/s<"), std::string::npos) << dom;
  EXPECT_NE(dom.find(">2.0 KiB/s<"), std::string::npos) << dom;
  EXPECT_NE(dom.find(">2.0 MiB/s<"), std::string::npos) << dom;
  EXPECT_NE(dom.find(">19<"), std::string::npos) << "active, summed over routes\n" << dom;

  browser.screenshot(sample.url(), "status-page-sample-desktop.png", "1280,900");
  browser.screenshot(sample.url(), "status-page-sample-phone.png", "390,844");
  browser.screenshot(sample.url(), "status-page-sample-dark.png", "1280,900",
                     {"--force-dark-mode", "--blink-settings=preferredColorScheme=0"});
}

}  // namespace
}  // namespace edge::test
