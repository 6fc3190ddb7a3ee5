#include "config/options.h"

namespace edge::config {
namespace {

constexpr OptionSpec kOptions[] = {
    {"--listen", "LISTENER_PORT", "[ADDR:]PORT", "required",
     "where to accept connections; without ADDR every interface, IPv4 and IPv6"},
    {"--target", "ECS_SERVICE_DISCOVERY_TARGET", "NAME", "required",
     "DNS name to discover, queried as given (e.g. _sftp._tcp.example.internal)"},
    {"--type", "ECS_SERVICE_DISCOVERY_TYPE", "srv|a|aaaa", "srv",
     "record type to query (case-insensitive)"},
    {"--target-port", "TARGET_PORT", "PORT", "required for a/aaaa",
     "backend port for A/AAAA discovery; ignored for SRV"},
    {"--port-override", "EDGE_PORT_OVERRIDE", "PORT", "off",
     "connect to this port instead of the SRV records' port"},
    {"--dns-server", "DNS_SERVERS", "IP[:PORT]", "/etc/resolv.conf",
     "resolver to ask (repeatable; the env var takes a comma list)", true},
    {"--min-refresh", "EDGE_MIN_REFRESH", "DURATION", "1s",
     "shortest time between DNS refreshes (lower TTLs are raised to it)"},
    {"--max-refresh", "EDGE_MAX_REFRESH", "DURATION", "30s",
     "longest time between DNS refreshes (higher TTLs are lowered to it)"},
    {"--max-stale", "EDGE_MAX_STALE", "DURATION|off", "off",
     "how long the last known good targets may be used while DNS fails"},
    {"--connect-timeout", "EDGE_CONNECT_TIMEOUT", "DURATION", "5s",
     "time allowed for one connect to a target"},
    {"--connect-retries", "EDGE_CONNECT_RETRIES", "N", "2",
     "other targets to try after a failed connect (0-10)"},
    {"--refused-backoff", "EDGE_REFUSED_BACKOFF", "DURATION", "5s",
     "how long a target that refused or timed out is skipped"},
    {"--idle-timeout", "EDGE_IDLE_TIMEOUT", "DURATION|off", "off",
     "close a connection with no bytes either way for this long"},
    {"--keepalive", "EDGE_KEEPALIVE", "DURATION|off", "60s",
     "TCP keepalive idle time on both sockets (probes every 1/6 of it)"},
    {"--drain-timeout", "EDGE_DRAIN_TIMEOUT", "DURATION", "20s",
     "on SIGTERM/SIGINT, how long open connections may finish before they are closed"},
    {"--backlog", "EDGE_BACKLOG", "N", "SOMAXCONN",
     "listen backlog of each listening socket (1-65535; the kernel caps it at somaxconn)"},
    {"--pipe-size", "EDGE_PIPE_SIZE", "BYTES|off", "1m",
     "pipe per busy direction for zero-copy splice (4k-16m, k/m suffixes); off: copy"},
    {"--workers", "EDGE_WORKERS", "N", "CPU count",
     "event loops, each with its own listening socket (SO_REUSEPORT); 1-256"},
    {"--log-level", "EDGE_LOG_LEVEL", "LEVEL", "info",
     "trace, debug, info, warn, error or off (application log on stderr)"},
};

}  // namespace

std::span<const OptionSpec> optionTable() {
  return kOptions;
}

}  // namespace edge::config
