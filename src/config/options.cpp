#include "config/options.h"

namespace edge::config {
namespace {

// Durations are capped at a year: every duration ends up as a steady_clock deadline in
// nanoseconds (int64: 292 years) or a refresh delay doubled once (retryDelay), so a year
// cannot overflow, and nobody means more.
constexpr int64_t kYearMs = 8760LL * 3'600'000;
// TCP_KEEPIDLE and TCP_KEEPINTVL accept 1-32767 s (MAX_TCP_KEEPIDLE); the interval is a sixth
// of the idle time and TCP_KEEPCNT is 6 (at most 127): only the idle time can exceed a limit.
constexpr int64_t kMaxKeepaliveMs = 32767LL * 1000;

// TCP_USER_TIMEOUT takes an int of milliseconds (2^31-1 ms is 24.8 days): 24 days, in whole
// hours so the range reads well. Below 1 s one slow retransmission could end a healthy connection.
constexpr int64_t kMaxUserTimeoutMs = 24LL * 24 * 3'600'000;

using enum ValueKind;
using enum Scope;

constexpr OptionSpec kOptions[] = {
    {"--listen", "LISTENER_PORT", "listen", Route, "[ADDR:]PORT", "required",
     "where to accept connections; without ADDR every interface, IPv4 and IPv6"},
    {"--target", "ECS_SERVICE_DISCOVERY_TARGET", "target", Route, "NAME", "required",
     "DNS name to discover, queried as given (e.g. _sftp._tcp.example.internal)"},
    {"--type", "ECS_SERVICE_DISCOVERY_TYPE", "type", Route, "srv|a|aaaa", "srv",
     "record type to query (case-insensitive)"},
    {"--target-port", "TARGET_PORT", "target_port", Route, "PORT", "required for a/aaaa",
     "backend port for A/AAAA discovery; ignored for SRV (but still checked)", false, Port, 1,
     65535},
    {"--port-override", "EDGE_PORT_OVERRIDE", "port_override", Route, "PORT", "off",
     "connect to this port instead of the SRV records' port", false, Port, 1, 65535},
    {"--dns-server", "DNS_SERVERS", "dns_servers", Global, "IP[:PORT]", "/etc/resolv.conf",
     "resolver to ask (repeatable; the env var takes a comma list)", true},
    {"--min-refresh", "EDGE_MIN_REFRESH", "min_refresh", Route, "DURATION", "1s",
     "shortest time between DNS refreshes (lower TTLs are raised to it)", false, Millis, 100,
     kYearMs},
    {"--max-refresh", "EDGE_MAX_REFRESH", "max_refresh", Route, "DURATION", "30s",
     "longest time between DNS refreshes (higher TTLs are lowered to it)", false, Millis, 100,
     kYearMs},
    {"--max-stale", "EDGE_MAX_STALE", "max_stale", Route, "DURATION|off", "off",
     "how long the last known good targets may be used while DNS fails", false, Millis, 1, kYearMs},
    {"--state-file", "EDGE_STATE_FILE", "state_file", Route, "PATH", "off",
     "save the targets here (atomically, on every change) and serve them after a restart while "
     "DNS does not answer; its directory must exist"},
    {"--balance", "EDGE_BALANCE", "balance", Route, "POLICY", "random",
     "how new connections spread over the targets: random (SRV weights), round-robin, "
     "least-connections or source-hash (same client IP, same target)"},
    {"--connect-timeout", "EDGE_CONNECT_TIMEOUT", "connect_timeout", Route, "DURATION", "5s",
     "time allowed for one connect to a target", false, Millis, 1, kYearMs},
    {"--connect-retries", "EDGE_CONNECT_RETRIES", "connect_retries", Route, "N", "2",
     "other targets to try after a failed connect", false, Count, 0, 10},
    {"--refused-backoff", "EDGE_REFUSED_BACKOFF", "refused_backoff", Route, "DURATION", "5s",
     "how long a target that refused or timed out is first skipped (0s: never skipped)", false,
     Millis, 0, kYearMs},
    {"--eject-max", "EDGE_EJECT_MAX", "eject_max", Route, "DURATION", "30s",
     "a target that keeps failing is skipped twice as long each time, up to this", false, Millis, 0,
     kYearMs},
    {"--health-check-interval", "EDGE_HEALTH_CHECK_INTERVAL", "health_check_interval", Route,
     "DURATION|off", "off",
     "connect to every target this often, from one place; failing ones are skipped", false, Millis,
     100, kYearMs},
    {"--health-check-timeout", "EDGE_HEALTH_CHECK_TIMEOUT", "health_check_timeout", Route,
     "DURATION", "2s",
     "time allowed for one health check (connect, and greeting with --health-check-expect)", false,
     Millis, 1, kYearMs},
    {"--health-check-expect", "EDGE_HEALTH_CHECK_EXPECT", "health_check_expect", Route, "TEXT",
     "none",
     "a health check also needs the target's first bytes to start with TEXT (e.g. SSH-2.0-)"},
    {"--idle-timeout", "EDGE_IDLE_TIMEOUT", "idle_timeout", Route, "DURATION|off", "off",
     "close a connection with no bytes either way for this long", false, Millis, 1, kYearMs},
    {"--keepalive", "EDGE_KEEPALIVE", "keepalive", Route, "DURATION|off", "60s",
     "TCP keepalive idle time on both sockets, whole seconds (probes every 1/6 of it)", false,
     Seconds, 1000, kMaxKeepaliveMs},
    {"--user-timeout", "EDGE_USER_TIMEOUT", "user_timeout", Route, "DURATION|off", "2m",
     "TCP_USER_TIMEOUT on both sockets: a peer that leaves sent data unacknowledged (or its "
     "receive window shut) this long is dropped; off: kernel default (~15 min)",
     false, Millis, 1000, kMaxUserTimeoutMs},
    {"--drain-delay", "EDGE_DRAIN_DELAY", "drain_delay", Global, "DURATION", "0s",
     "on SIGTERM/SIGINT, how long to go on accepting (not ready) before closing the listeners",
     false, Millis, 0, kYearMs},
    {"--drain-timeout", "EDGE_DRAIN_TIMEOUT", "drain_timeout", Global, "DURATION|off", "20s",
     "then how long open connections may finish before they are closed; off: wait for ever", false,
     Millis, 0, kYearMs},
    {"--max-connections", "EDGE_MAX_CONNECTIONS", "max_connections", Global, "N",
     "from RLIMIT_NOFILE",
     "open connections at most; a client beyond it is closed at once (close=limit)", false, Count,
     1, 10'000'000},
    {"--max-connections-per-source", "EDGE_MAX_CONNECTIONS_PER_SOURCE",
     "max_connections_per_source", Global, "N|off", "off",
     "open connections at most per client IP address (close=limit beyond it)", false, Count, 1,
     10'000'000},
    {"--backlog", "EDGE_BACKLOG", "backlog", Route, "N", "SOMAXCONN",
     "listen backlog of each listening socket (the kernel caps it at somaxconn)", false, Count, 1,
     65535},
    {"--send-proxy", "EDGE_SEND_PROXY", "send_proxy", Route, "off|v1|v2", "off",
     "write a PROXY protocol header with the client's address first on every target connection "
     "(v2 also carries the connection id)"},
    {"--accept-proxy", "EDGE_ACCEPT_PROXY", "accept_proxy", Route, "on|off", "off",
     "every client must come from --trusted-proxies and start with a PROXY v1 or v2 header, "
     "whose address is then the client's"},
    {"--trusted-proxies", "EDGE_TRUSTED_PROXIES", "trusted_proxies", Route, "CIDR",
     "required with --accept-proxy",
     "load balancers allowed to send PROXY headers (repeatable; the env var takes a comma list)",
     true},
    {"--proxy-header-timeout", "EDGE_PROXY_HEADER_TIMEOUT", "proxy_header_timeout", Route,
     "DURATION", "3s", "time allowed for a client's whole PROXY header (close=bad_proxy_header)",
     false, Millis, 1, kYearMs},
    {"--allow", "EDGE_ALLOW", "allow", Route, "CIDR", "any",
     "only clients in these ranges are served, others closed at once (close=denied); repeatable",
     true},
    {"--deny", "EDGE_DENY", "deny", Route, "CIDR", "none",
     "clients in these ranges are closed at once (close=denied), even if allowed; repeatable",
     true},
    {"--target-allow", "EDGE_TARGET_ALLOW", "target_allow", Route, "CIDR", "any",
     "target addresses DNS answers may hold; others are dropped with a warning; repeatable", true},
    {"--rate-limit-per-source", "EDGE_RATE_LIMIT_PER_SOURCE", "rate_limit_per_source", Route,
     "N/s|N/m|N/h|off", "off",
     "new connections per client address (token bucket); beyond it close=rate_limited"},
    {"--rate-limit-burst", "EDGE_RATE_LIMIT_BURST", "rate_limit_burst", Route, "N", "the rate's N",
     "connections a client address may open at once before the rate applies", false, Count, 1,
     1'000'000},
    {"--pipe-size", "EDGE_PIPE_SIZE", "pipe_size", Global, "BYTES|off", "1m",
     "pipe per busy direction for zero-copy splice (k/m suffixes), within the process's pipe "
     "budget; off: copy",
     false, Bytes, 4 * 1024, 16 * 1024 * 1024},
    {"--workers", "EDGE_WORKERS", "workers", Global, "N", "CPU count",
     "event loops, each with its own listening socket (SO_REUSEPORT)", false, Count, 1, 256},
    {"--name", "EDGE_ROUTE_NAME", "name", Route, "NAME", "default",
     "the route's name in logs and metrics: 1-64 letters, digits, '_', '.', '-'; unique"},
    {"--config", "EDGE_CONFIG", "", Global, "FILE", "none",
     "TOML file with global settings and [[route]] tables; SIGHUP reads it again"},
    {"--user", "EDGE_USER", "user", Global, "NAME", "none",
     "after binding, run as this user, keeping only CAP_NET_BIND_SERVICE"},
    {"--group", "EDGE_GROUP", "group", Global, "NAME", "user's group",
     "after binding, run with this group"},
    {"--upgrade-from", "EDGE_UPGRADE_FROM", "upgrade_from", Global, "PATH", "none",
     "take the listening sockets of the process serving this Unix socket, which then drains"},
    {"--upgrade-socket", "EDGE_UPGRADE_SOCKET", "upgrade_socket", Global, "PATH", "none",
     "serve the listening sockets to a later process (--upgrade-from) on this Unix socket"},
    {"--log-level", "EDGE_LOG_LEVEL", "log_level", Global, "LEVEL", "info",
     "trace, debug, info, warn, error or off (application log on stderr)"},
    {"--log-format", "EDGE_LOG_FORMAT", "log_format", Global, "text|json", "text",
     "logs as logfmt text, or as JSON lines (one object per line) for CloudWatch, Loki, jq"},
    {"--access-log", "EDGE_ACCESS_LOG", "access_log", Global, "EVENTS|off", "open,progress,close",
     "access-log events on stdout: any of open, progress, close (comma list), or off"},
    {"--log-progress-interval", "EDGE_LOG_PROGRESS_INTERVAL", "log_progress_interval", Global,
     "DURATION|off", "10m",
     "a progress access-log event for each connection open this long, and again every interval",
     false, Millis, 1000, kYearMs},
    {"--admin", "EDGE_ADMIN", "admin", Global, "ADDR:PORT|off", "127.0.0.1:9901",
     "admin HTTP endpoint (/metrics, /ready, /targets, /connections, status page); if the "
     "default is taken, a warning; a chosen address that cannot be bound stops start-up"},
};

}  // namespace

// The largest whole unit: 100ms, 5s, 2m, 8760h.
std::string durationText(int64_t ms) {
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string bytesText(int64_t n) {
  if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + "m";
  if (n % 1024 == 0) return std::to_string(n / 1024) + "k";
  return std::to_string(n);
}

std::span<const OptionSpec> optionTable() {
  return kOptions;
}

const OptionSpec* findOption(std::string_view flag) {
  for (const auto& spec : kOptions) {
    if (spec.flag == flag) return &spec;
  }
  return nullptr;
}

const OptionSpec* findFileKey(std::string_view key) {
  if (key.empty()) return nullptr;
  for (const auto& spec : kOptions) {
    if (spec.file_key == key) return &spec;
  }
  return nullptr;
}

const char* toString(Scope scope) {
  return scope == Scope::Route ? "route" : "global";
}

std::string rangeText(const OptionSpec& spec) {
  switch (spec.kind) {
    case Text:
      return "";
    case Port:
    case Count:
      return std::to_string(spec.min) + "-" + std::to_string(spec.max);
    case Millis:
      return durationText(spec.min) + "-" + durationText(spec.max);
    case Seconds:
      return std::to_string(spec.min / 1000) + "s-" + std::to_string(spec.max / 1000) + "s";
    case Bytes:
      return bytesText(spec.min) + "-" + bytesText(spec.max);
  }
  return "";
}

}  // namespace edge::config
