#include "proxy/listener.h"

#include <asio/detail/socket_option.hpp>
#include <asio/ip/v6_only.hpp>

#include "net/endpoint.h"
#include "net/socket_options.h"

namespace edge::proxy {
namespace {

std::error_code tryOpen(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& ep,
                        bool dual_stack, int backlog, std::optional<std::chrono::seconds> keepalive,
                        std::optional<std::chrono::milliseconds> user_timeout) {
  std::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  if (dual_stack) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  if (!ec) acceptor.set_option(ReusePort(true), ec);
  // Inherited by every accepted socket (Linux copies them from the listener).
  if (!ec) ec = net::setNoDelay(acceptor.native_handle());
  if (!ec) ec = net::setReadQueueHint(acceptor.native_handle());
  if (!ec) ec = net::setUrgentInline(acceptor.native_handle());  // see proxy/pump.h
  if (!ec) ec = net::setKeepAlive(acceptor.native_handle(), keepalive);
  if (!ec) ec = net::setUserTimeout(acceptor.native_handle(), user_timeout);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog > 0 ? backlog : asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

}  // namespace

std::vector<asio::ip::tcp::acceptor> openListeners(
    asio::io_context& io, const std::optional<asio::ip::address>& address, uint16_t port,
    size_t count, int backlog, std::optional<std::chrono::seconds> keepalive,
    std::optional<std::chrono::milliseconds> user_timeout, std::string& error) {
  std::vector<asio::ip::tcp::acceptor> out;
  asio::ip::tcp::endpoint ep(address.value_or(asio::ip::address_v6::any()), port);
  bool dual_stack = !address;
  for (size_t i = 0; i < count; ++i) {
    asio::ip::tcp::acceptor acceptor(io);
    auto ec = tryOpen(acceptor, ep, dual_stack, backlog, keepalive, user_timeout);
    if (ec == asio::error::address_family_not_supported && dual_stack && i == 0) {
      ep = {asio::ip::address_v4::any(), port};  // no IPv6 on this host
      dual_stack = false;
      ec = tryOpen(acceptor, ep, false, backlog, keepalive, user_timeout);
    }
    if (ec) {
      error = "cannot listen on " + (address ? net::format(ep) : "*:" + std::to_string(ep.port())) +
              ": " + ec.message();
      return {};
    }
    if (i == 0) ep.port(acceptor.local_endpoint().port());  // port 0: the others join this one
    out.push_back(std::move(acceptor));
  }
  return out;
}

}  // namespace edge::proxy
