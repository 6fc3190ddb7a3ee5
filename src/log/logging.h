#pragma once
// Application log set-up: human-readable lines on stderr (stdout carries the access log).

#include <string>

namespace edge::log {

void setupLogging(const std::string& level);

}  // namespace edge::log
