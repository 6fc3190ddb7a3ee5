#pragma once
// Application log set-up: lines on stderr (stdout carries the access log), as text
// (`2024-03-05T06:07:08.009Z info message`) or, with --log-format json, one JSON object per line:
// {"ts":"2024-03-05T06:07:08.009Z","level":"info","msg":"message"}. A line about one connection
// ends with ` id=HEX16` (log/connection_id.h); in JSON that becomes an "id" field.

#include <spdlog/formatter.h>
#include <spdlog/sinks/sink.h>

#include <memory>
#include <string>

#include "config/config.h"

namespace edge::log {

void setupLogging(const std::string& level, config::LogFormat format = config::LogFormat::Text);
// A reload changed --log-level.
void setLevel(const std::string& level);
// Text or JSON lines from now on (every logger's sinks).
void setFormat(config::LogFormat format);

// The formatter behind --log-format json.
std::unique_ptr<spdlog::formatter> makeJsonFormatter();

// The sink behind it, writing to `fd`. A blocked stderr (a pipe nobody reads) never blocks the
// thread that logs for long: a line waits at most 100 ms for room, and while stderr stays
// blocked further lines are dropped at once; the next line that gets through says how many (a
// line of its own, formatted like the others).
std::shared_ptr<spdlog::sinks::sink> makeStderrSink(int fd = 2);

}  // namespace edge::log
