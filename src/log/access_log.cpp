#include "log/access_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace edge::log {

std::string formatAccess(const AccessRecord& r) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.end.time_since_epoch());
  const std::time_t secs = std::chrono::system_clock::to_time_t(r.end);
  std::tm utc{};
  gmtime_r(&secs, &utc);
  std::string line = fmt::format(
      "ts={:%Y-%m-%dT%H:%M:%S}.{:03}Z client={} target={} target_name={} bytes_to_target={} "
      "bytes_to_client={} duration_ms={} close={} attempts={}",
      utc, ms.count() % 1000, net::format(r.client), r.target ? net::format(*r.target) : "-",
      r.target_name.empty() ? "-" : r.target_name, r.bytes_to_target, r.bytes_to_client,
      r.duration.count() / 1000, proxy::toString(r.reason), r.attempts);
  if (!r.error.empty()) {
    line += " error=\"";
    for (char c : r.error) {  // logfmt quoting: escape quote and backslash, drop control bytes
      if (c == '"' || c == '\\') line += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) line += c;
    }
    line += '"';
  }
  return line;
}

AccessLog::AccessLog() {
  // A full queue drops the oldest lines rather than stall forwarding on a blocked stdout.
  logger_ = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("access");
  logger_->set_pattern("%v");
  logger_->set_level(spdlog::level::info);
  logger_->flush_on(spdlog::level::info);
}

void AccessLog::write(const AccessRecord& record) {
  logger_->info("{}", formatAccess(record));
}

}  // namespace edge::log
