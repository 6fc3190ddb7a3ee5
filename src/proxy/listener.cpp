#include "proxy/listener.h"

#include <asio/ip/v6_only.hpp>

#include "net/endpoint.h"

namespace edge::proxy {
namespace {

std::error_code tryOpen(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& ep,
                        bool dual_stack) {
  std::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  if (dual_stack) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

}  // namespace

std::optional<asio::ip::tcp::acceptor> openListener(asio::io_context& io,
                                                    const std::optional<asio::ip::address>& address,
                                                    uint16_t port, std::string& error) {
  asio::ip::tcp::acceptor acceptor(io);
  if (address) {
    const asio::ip::tcp::endpoint ep(*address, port);
    if (auto ec = tryOpen(acceptor, ep, false)) {
      error = "cannot listen on " + net::format(ep) + ": " + ec.message();
      return std::nullopt;
    }
    return acceptor;
  }
  const asio::ip::tcp::endpoint any6(asio::ip::address_v6::any(), port);
  auto ec = tryOpen(acceptor, any6, true);
  if (ec == asio::error::address_family_not_supported) {
    ec = tryOpen(acceptor, {asio::ip::address_v4::any(), port}, false);
  }
  if (ec) {
    error = "cannot listen on *:" + std::to_string(port) + ": " + ec.message();
    return std::nullopt;
  }
  return acceptor;
}

}  // namespace edge::proxy
