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

// SO_OOBINLINE on: TCP urgent ("out-of-band") data stays in the byte stream where it was sent,
// so the proxy forwards it as an ordinary byte instead of the kernel setting it aside (a plain
// read skips it). Accepted sockets inherit it from their listening socket.
std::error_code setUrgentInline(int fd);

// Whether the next byte to read is TCP urgent data (SIOCATMARK). splice() stops in front of
// it, whatever SO_OOBINLINE says; only a plain read moves past it.
bool atUrgentMark(int fd);

// SO_KEEPALIVE with the given idle time before the first probe (then every idle/6, at least 1 s,
// 6 probes); nullopt turns keepalive off.
std::error_code setKeepAlive(int fd, std::optional<std::chrono::seconds> idle);

// TCP_USER_TIMEOUT: how long sent data may stay unacknowledged before the kernel ends the
// connection with ETIMEDOUT (instead of ~15 minutes of retransmissions); nullopt sets 0, the
// kernel default. The kernel takes milliseconds as an int: the caller keeps it within range
// (config/options.cpp). Accepted sockets inherit it from their listening socket.
std::error_code setUserTimeout(int fd, std::optional<std::chrono::milliseconds> timeout);

// SO_LINGER {1, 0}: the next close() sends RST instead of FIN. Used to pass a reset on.
std::error_code setResetOnClose(int fd);

}  // namespace edge::net
