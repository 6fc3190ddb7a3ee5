#pragma once
// The effective configuration: plain values, no logic. Built by config/load.h.

#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edge::config {

using Duration = std::chrono::milliseconds;

enum class RecordType { Srv, A, Aaaa };

struct Config {
  // Listener. No address: every interface, IPv4 and IPv6 (a dual-stack [::] socket).
  std::optional<asio::ip::address> listen_address;
  uint16_t listen_port = 0;  // 0 only for tests: the kernel picks one, the log line says which

  // Discovery.
  std::string target;
  RecordType type = RecordType::Srv;
  std::optional<uint16_t> target_port;    // A/AAAA only
  std::optional<uint16_t> port_override;  // replaces SRV records' port
  std::vector<std::string> dns_servers;   // "ip:port" / "[ip6]:port"; empty = /etc/resolv.conf
  Duration min_refresh{1000};
  Duration max_refresh{30000};
  std::optional<Duration> max_stale;  // nullopt: last known good targets never expire
  // Where the last known good targets are saved, to serve if DNS does not answer at start-up.
  std::optional<std::string> state_file;

  // Connections.
  Duration connect_timeout{5000};
  int connect_retries = 2;
  Duration refused_backoff{5000};
  std::optional<Duration> idle_timeout;               // nullopt: never
  std::optional<std::chrono::seconds> keepalive{60};  // nullopt: off
  // TCP_USER_TIMEOUT on both sockets: unacknowledged data (or a closed receive window, or
  // unanswered keepalive probes) for this long ends the connection. nullopt: kernel default.
  std::optional<Duration> user_timeout{120000};
  // SIGTERM/SIGINT: not ready at once, keep accepting for drain_delay (a load balancer in front
  // stops sending), then close the listeners and give open connections drain_timeout
  // (nullopt: for ever) before closing what is left.
  Duration drain_delay{0};
  std::optional<Duration> drain_timeout{Duration{20000}};

  // Open connections, whole process; nullopt: derived from the descriptor limit at start-up.
  std::optional<int> max_connections;
  // Open connections per client address; nullopt: no limit.
  std::optional<int> max_connections_per_source;

  // listen() backlog per listening socket; 0 = SOMAXCONN (the kernel caps it at
  // net.core.somaxconn). Bursts of connects must not overflow it (socat's 5 does).
  int backlog = 0;

  // Capacity of the kernel pipe each direction splices through while bytes move (bytes in
  // flight per direction stay below it); 0 = no splice, copy through a 16 KiB buffer.
  // 1 MiB (the unprivileged maximum, fs.pipe-max-size) measured best: bench/results.
  size_t pipe_size = 1024 * 1024;

  // Event loops, each with its own listening socket; 0 = one per CPU.
  unsigned workers = 0;

  std::string log_level = "info";
};

const char* toString(RecordType type);

}  // namespace edge::config
