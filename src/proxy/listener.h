#pragma once
// Opens the listening socket: a dual-stack [::] socket when no address is given (falling back to
// 0.0.0.0 on hosts without IPv6), SO_REUSEADDR, the system's maximum backlog.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <optional>
#include <string>

namespace edge::proxy {

// Returns nullopt and sets `error` (naming the address) when binding fails.
std::optional<asio::ip::tcp::acceptor> openListener(asio::io_context& io,
                                                    const std::optional<asio::ip::address>& address,
                                                    uint16_t port, std::string& error);

}  // namespace edge::proxy
