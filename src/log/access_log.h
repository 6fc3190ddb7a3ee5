#pragma once
// One logfmt line per finished connection, on stdout, written off the worker thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/endpoint.h"
#include "proxy/close_reason.h"

namespace spdlog {
class logger;
}

namespace edge::log {

struct AccessRecord {
  std::chrono::system_clock::time_point end;
  net::Endpoint client;
  std::optional<net::Endpoint> target;
  std::string_view target_name;
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
  std::chrono::microseconds duration{0};
  proxy::CloseReason reason = proxy::CloseReason::None;
  int attempts = 0;
  std::string_view error;  // detail for connect_failed etc.; empty: none
};

// ts=... client=... target=... target_name=... bytes_to_target=N bytes_to_client=N
// duration_ms=N close=REASON attempts=N [error="..."]
std::string formatAccess(const AccessRecord& record);

class AccessLog {
 public:
  AccessLog();  // stdout, asynchronous
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  void write(const AccessRecord& record);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace edge::log
