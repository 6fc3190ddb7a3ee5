#pragma once
// Why a connection ended, as one word for the access log, and the pure rules that decide it.

#include <cstdint>
#include <string_view>
#include <system_error>

namespace edge::proxy {

// One byte: a field of every Session (an idle connection's memory counts).
enum class CloseReason : uint8_t {
  None,          // still open
  ClientClosed,  // the client sent FIN first; both directions then ended cleanly
  TargetClosed,  // the target sent FIN first
  ClientReset,   // the client reset or failed; the target connection was reset too
  TargetReset,   // the target reset or failed; the client connection was reset too
  // That side left our sent data unacknowledged (or its window shut, or keepalive probes
  // unanswered) for --user-timeout: the kernel ended it with ETIMEDOUT; the other side was reset.
  ClientTimeout,
  TargetTimeout,
  ConnectFailed,  // no target accepted the connection in the allowed attempts
  NoTargets,      // discovery knows no target
  IdleTimeout,    // --idle-timeout passed with no bytes either way
  Shutdown,       // the drain timeout ran out at shutdown
  Limit,          // refused at once: a connection limit or the descriptor limit was reached
  // Refused at once, before any target is contacted:
  Denied,          // the client address is not in --allow, or is in --deny
  RateLimited,     // the client address opened more than --rate-limit-per-source allows
  UntrustedProxy,  // --accept-proxy: the connection is not from --trusted-proxies
  BadProxyHeader,  // --accept-proxy: the PROXY header was malformed, too long or late
};

enum class Side { Client, Target };

std::string_view toString(CloseReason reason);

// Combines the reason noted so far with a new event: the first event wins, except that a reset
// or timeout outranks a clean close (a target reset after the client's FIN is the real story).
CloseReason merge(CloseReason current, CloseReason incoming);

// The reason for an I/O error on `side`: EOF is a clean close, ETIMEDOUT (TCP_USER_TIMEOUT or
// keepalive gave up on the peer) a timeout, everything else a reset.
CloseReason classify(Side side, const std::error_code& ec);

// Whether `reason` means one peer is gone for good, so the other one must be reset (not left
// open): the resets and the ETIMEDOUT timeouts.
bool resetsOtherSide(CloseReason reason);

}  // namespace edge::proxy
