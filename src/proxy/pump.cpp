#include "proxy/pump.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace edge::proxy {
namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

Side other(Side s) {
  return s == Side::Client ? Side::Target : Side::Client;
}

}  // namespace

asio::awaitable<void> pumpCopy(PumpSides sides, std::span<char> buffer, PumpEnd& end,
                               std::chrono::steady_clock::time_point& last_activity) {
  for (;;) {
    auto [read_ec, n] =
        co_await sides.from.async_read_some(asio::buffer(buffer.data(), buffer.size()), kNoThrow);
    if (read_ec == asio::error::operation_aborted) co_return;  // aborted: the reason is set
    if (read_ec) {
      end.reason = classify(sides.from_side, read_ec);
      if (read_ec != asio::error::eof) end.error = read_ec;
      if (read_ec == asio::error::eof) {
        std::error_code ignored;  // the other side may be gone already; its pump will say so
        sides.to.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      }
      co_return;
    }
    auto [write_ec, written] =
        co_await asio::async_write(sides.to, asio::buffer(buffer.data(), n), kNoThrow);
    if (write_ec == asio::error::operation_aborted) co_return;
    if (write_ec) {
      end.reason = classify(other(sides.from_side), asio::error::connection_reset);
      end.error = write_ec;
      co_return;
    }
    end.bytes += written;
    last_activity = std::chrono::steady_clock::now();
  }
}

}  // namespace edge::proxy
