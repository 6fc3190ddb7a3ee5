#include "proxy/close_reason.h"

#include <asio/error.hpp>

namespace edge::proxy {
namespace {

bool isCleanClose(CloseReason r) {
  return r == CloseReason::ClientClosed || r == CloseReason::TargetClosed;
}

}  // namespace

std::string_view toString(CloseReason reason) {
  switch (reason) {
    case CloseReason::None:
      return "open";
    case CloseReason::ClientClosed:
      return "client_closed";
    case CloseReason::TargetClosed:
      return "target_closed";
    case CloseReason::ClientReset:
      return "client_reset";
    case CloseReason::TargetReset:
      return "target_reset";
    case CloseReason::ClientTimeout:
      return "client_timeout";
    case CloseReason::TargetTimeout:
      return "target_timeout";
    case CloseReason::ConnectFailed:
      return "connect_failed";
    case CloseReason::NoTargets:
      return "no_targets";
    case CloseReason::Limit:
      return "limit";
    case CloseReason::IdleTimeout:
      return "idle_timeout";
    case CloseReason::Shutdown:
      return "shutdown";
    case CloseReason::Denied:
      return "denied";
    case CloseReason::RateLimited:
      return "rate_limited";
    case CloseReason::UntrustedProxy:
      return "untrusted_proxy";
    case CloseReason::BadProxyHeader:
      return "bad_proxy_header";
  }
  return "unknown";
}

CloseReason merge(CloseReason current, CloseReason incoming) {
  if (incoming == CloseReason::None) return current;
  if (current == CloseReason::None) return incoming;
  if (isCleanClose(current) && !isCleanClose(incoming)) return incoming;
  return current;
}

CloseReason classify(Side side, const std::error_code& ec) {
  const bool client = side == Side::Client;
  if (ec == asio::error::eof) return client ? CloseReason::ClientClosed : CloseReason::TargetClosed;
  // asio::error::timed_out is ETIMEDOUT in the system category, as net::systemError() makes it.
  if (ec == asio::error::timed_out || ec == std::errc::timed_out) {
    return client ? CloseReason::ClientTimeout : CloseReason::TargetTimeout;
  }
  return client ? CloseReason::ClientReset : CloseReason::TargetReset;
}

bool resetsOtherSide(CloseReason reason) {
  return reason == CloseReason::ClientReset || reason == CloseReason::TargetReset ||
         reason == CloseReason::ClientTimeout || reason == CloseReason::TargetTimeout;
}

}  // namespace edge::proxy
