#pragma once
// The effective configuration: plain values, no logic. Built by config/load.h.

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "balance/policy.h"
#include "net/cidr.h"

namespace edge::config {

using Duration = std::chrono::milliseconds;

enum class RecordType { Srv, A, Aaaa };

enum class LogFormat { Text, Json };

// The PROXY protocol version written first on every target connection (--send-proxy).
enum class ProxyProtocol { Off, V1, V2 };

// New connections per client address (--rate-limit-per-source "5/s", "300/m"): `count` tokens
// per `period`, in a token bucket of --rate-limit-burst.
struct RateLimit {
  uint32_t count = 0;
  Duration period{1000};
  bool operator==(const RateLimit&) const = default;
};

// Which access-log events are written (--access-log open,progress,close | off).
struct AccessLogEvents {
  bool open = true;
  bool progress = true;
  bool close = true;
  bool any() const { return open || progress || close; }
  bool operator==(const AccessLogEvents&) const = default;
};

// One service: where it listens, what it discovers, how it connects. Every field is a route
// option (scope "route" in config/options.cpp); written at the top level of the file, it is the
// default of every route.
struct Route {
  std::string name = "default";  // unique; flags and env vars alone describe one "default" route

  // Listener. No address: every interface, IPv4 and IPv6 (a dual-stack [::] socket).
  std::optional<asio::ip::address> listen_address;
  uint16_t listen_port = 0;  // 0 only for tests: the kernel picks one, the log line says which

  // Discovery.
  std::string target;
  RecordType type = RecordType::Srv;
  std::optional<uint16_t> target_port;    // A/AAAA only
  std::optional<uint16_t> port_override;  // replaces SRV records' port
  Duration min_refresh{1000};
  Duration max_refresh{30000};
  std::optional<Duration> max_stale;  // nullopt: last known good targets never expire
  // Where the last known good targets are saved, to serve if DNS does not answer at start-up.
  std::optional<std::string> state_file;

  // Connections.
  balance::Policy balance = balance::Policy::Random;
  Duration connect_timeout{5000};
  int connect_retries = 2;
  Duration refused_backoff{5000};        // first passive ejection back-off; 0: no ejection
  Duration eject_max{30000};             // the back-off doubles up to this (never below the first)
  std::optional<Duration> idle_timeout;  // nullopt: never
  std::optional<std::chrono::seconds> keepalive{60};  // nullopt: off
  // TCP_USER_TIMEOUT on both sockets: unacknowledged data (or a closed receive window, or
  // unanswered keepalive probes) for this long ends the connection. nullopt: kernel default.
  std::optional<Duration> user_timeout{120000};

  // Active health checks: a connect (and, with `health_check_expect`, a greeting that starts
  // with it) to every endpoint every interval; nullopt: off.
  std::optional<Duration> health_check_interval;
  Duration health_check_timeout{2000};
  std::string health_check_expect;  // empty: the connect alone

  // listen() backlog per listening socket; 0 = SOMAXCONN (the kernel caps it at
  // net.core.somaxconn). Bursts of connects must not overflow it (socat's 5 does).
  int backlog = 0;

  // PROXY protocol. Out: a header with the client's address first on every target connection.
  // In: every client must come from `trusted_proxies` and start with a v1 or v2 header, within
  // `proxy_header_timeout`; the header's address is then the client everywhere.
  ProxyProtocol send_proxy = ProxyProtocol::Off;
  bool accept_proxy = false;
  std::vector<net::Cidr> trusted_proxies;
  Duration proxy_header_timeout{3000};

  // Access control on the client address: empty `allow` admits every address; `deny` wins.
  std::vector<net::Cidr> allow;
  std::vector<net::Cidr> deny;
  // Target addresses DNS answers may hold (empty: any that target_filter.h does not refuse).
  std::vector<net::Cidr> target_allow;
  // New connections per client address; nullopt: no limit. Burst nullopt: the rate's count.
  std::optional<RateLimit> rate_limit;
  std::optional<uint32_t> rate_limit_burst;

  bool operator==(const Route&) const = default;
};

// The whole process: global options (scope "global") and the routes.
struct Config {
  std::vector<std::string> dns_servers;  // "ip:port" / "[ip6]:port"; empty = /etc/resolv.conf

  // SIGTERM/SIGINT: not ready at once, keep accepting for drain_delay (a load balancer in front
  // stops sending), then close the listeners and give open connections drain_timeout
  // (nullopt: for ever) before closing what is left.
  Duration drain_delay{0};
  std::optional<Duration> drain_timeout{Duration{20000}};

  // Open connections, whole process; nullopt: derived from the descriptor limit at start-up.
  std::optional<int> max_connections;
  // Open connections per client address, whole process; nullopt: no limit.
  std::optional<int> max_connections_per_source;

  // Capacity of the kernel pipe each direction splices through while bytes move (bytes in
  // flight per direction stay below it); 0 = no splice, copy through a 16 KiB buffer.
  // 1 MiB (the unprivileged maximum, fs.pipe-max-size) measured best: bench/results.
  size_t pipe_size = 1024 * 1024;

  // Event loops, each with its own listening socket per route; 0 = one per CPU.
  unsigned workers = 0;

  std::string log_level = "info";
  LogFormat log_format = LogFormat::Text;  // application log (stderr) and access log (stdout)
  AccessLogEvents access_log;
  // A `progress` access-log event for every connection open this long, and again every interval.
  std::optional<Duration> log_progress_interval{Duration{600000}};

  // Admin HTTP endpoint (metrics, targets, connections, status page); nullopt: off.
  // `admin_explicit`: the operator chose it, so failing to bind it stops start-up; the default
  // address being taken (a second instance on the host network) is only a warning.
  std::optional<asio::ip::tcp::endpoint> admin{
      asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 9901)};
  bool admin_explicit = false;

  // The file the routes came from (--config / EDGE_CONFIG); SIGHUP reads it again.
  std::optional<std::string> config_file;
  // Privilege drop after binding (--user / --group); CAP_NET_BIND_SERVICE is kept.
  std::optional<std::string> user;
  std::optional<std::string> group;
  // Upgrade: take the listening sockets of the process serving this Unix socket (--upgrade-from)
  // and serve the handover to the next one here (--upgrade-socket).
  std::optional<std::string> upgrade_from;
  std::optional<std::string> upgrade_socket;

  // At least one; names and listen addresses unique.
  std::vector<Route> routes{Route{}};

  bool operator==(const Config&) const = default;
};

const char* toString(RecordType type);
const char* toString(LogFormat format);       // "text", "json"
const char* toString(ProxyProtocol version);  // "off", "v1", "v2"
std::string toString(const RateLimit& rate);  // "5/s", "300/m", "10/h"
// "open,progress,close" (those on), or "off".
std::string toString(const AccessLogEvents& events);

// Where a route listens, as one key: "ADDR:PORT", or "*:PORT" for every interface. Duplicate
// listen addresses in a file and an upgrade's handed sockets are matched by it.
std::string listenKey(const Route& route);

}  // namespace edge::config
