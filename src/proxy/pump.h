#pragma once
// Copies bytes from one socket to the other until EOF or an error, keeping at most one buffer
// of bytes in flight (the back-pressure). On EOF it half-closes the other side and returns, so
// the opposite direction keeps flowing until its own end.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <system_error>

#include "proxy/close_reason.h"

namespace edge::proxy {

struct PumpEnd {
  uint64_t bytes = 0;
  CloseReason reason = CloseReason::None;  // None: stopped from outside (abort/cancel)
  std::error_code error;                   // the error behind a reset, for the log
};

struct PumpSides {
  asio::ip::tcp::socket& from;
  asio::ip::tcp::socket& to;
  Side from_side;
};

// `bytes` is updated as data moves so an observer (idle timer, logs) sees progress;
// `last_activity` likewise.
asio::awaitable<void> pumpCopy(PumpSides sides, std::span<char> buffer, PumpEnd& end,
                               std::chrono::steady_clock::time_point& last_activity);

}  // namespace edge::proxy
