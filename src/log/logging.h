#pragma once
// Application log set-up: human-readable lines on stderr (stdout carries the access log).

#include <spdlog/sinks/sink.h>

#include <memory>
#include <string>

namespace edge::log {

void setupLogging(const std::string& level);
// A reload changed --log-level.
void setLevel(const std::string& level);

// The sink behind it, writing to `fd`. A blocked stderr (a pipe nobody reads) never blocks the
// thread that logs for long: a line waits at most 100 ms for room, and while stderr stays
// blocked further lines are dropped at once; the next line that gets through says how many.
std::shared_ptr<spdlog::sinks::sink> makeStderrSink(int fd = 2);

}  // namespace edge::log
