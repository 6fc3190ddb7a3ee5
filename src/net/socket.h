#pragma once
// The connection socket type: tied to an io_context executor (8 bytes) rather than asio's
// type-erased any_io_executor (about 40), which adds up over tens of thousands of idle
// connections.

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace edge::net {

using Socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;

}  // namespace edge::net
