#pragma once
// Opens the listening sockets: `count` sockets on one port with SO_REUSEPORT (the kernel spreads
// accepts over them, one per worker, no shared lock); a dual-stack [::] socket when no address
// is given (0.0.0.0 on hosts without IPv6); SO_REUSEADDR; the system's maximum backlog.
// TCP_NODELAY, keepalive and TCP_USER_TIMEOUT are set on the listening socket: accepted sockets
// inherit them, so the accept path makes no per-connection setsockopt calls.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace edge::proxy {

// `backlog` 0 means SOMAXCONN. Returns an empty vector and sets `error` (naming the address) when
// binding fails. With port 0 the first socket gets a kernel-chosen port and the others join it.
std::vector<asio::ip::tcp::acceptor> openListeners(
    asio::io_context& io, const std::optional<asio::ip::address>& address, uint16_t port,
    size_t count, int backlog, std::optional<std::chrono::seconds> keepalive,
    std::optional<std::chrono::milliseconds> user_timeout, std::string& error);

}  // namespace edge::proxy
