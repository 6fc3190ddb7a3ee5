#pragma once
// Socket option helpers shared by the listener and the sessions.

#include <chrono>
#include <optional>
#include <system_error>

namespace edge::net {

// TCP_NODELAY on.
std::error_code setNoDelay(int fd);

// TCP_INQ on: each recvmsg() then says how many bytes (or a FIN) are still queued, so a
// reader knows it drained the socket without one more read that only says EAGAIN. Accepted
// sockets inherit it from their listening socket.
std::error_code setReadQueueHint(int fd);

// SO_KEEPALIVE with the given idle time before the first probe (then every idle/6, at least 1 s,
// 6 probes); nullopt turns keepalive off.
std::error_code setKeepAlive(int fd, std::optional<std::chrono::seconds> idle);

// SO_LINGER {1, 0}: the next close() sends RST instead of FIN. Used to pass a reset on.
std::error_code setResetOnClose(int fd);

}  // namespace edge::net
