#pragma once
// JSON string escaping for the JSON-lines logs (--log-format json). Whatever the bytes (a target
// name from a hostile DNS answer, an error message, a route name), the result is one valid JSON
// string on one line: quote, backslash and control bytes are escaped, valid UTF-8 passes
// through, and each byte that is not part of a valid UTF-8 sequence becomes U+FFFD.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace edge::log {

// Appends `s` as a JSON string, quotes included.
void appendJsonString(std::string& out, std::string_view s);

// The length of the valid UTF-8 sequence (1-4 bytes) at the start of `s`, or 0 if it does not
// start with one (a stray continuation byte, an overlong form, a surrogate, a code point past
// U+10FFFF, a truncated sequence).
size_t utf8SequenceLength(std::string_view s);

// "2024-03-05T06:07:08.009Z": UTC, milliseconds (the timestamp of every log line).
void appendUtcTimestamp(std::string& out, std::chrono::system_clock::time_point t);

}  // namespace edge::log
