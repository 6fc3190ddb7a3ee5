#pragma once
// Connection ids: unique within one process, allocated without any shared state. The worker's
// index sits in the top 16 bits and the worker's own count of connections in the low 48
// (2.8e14 connections per worker before it could wrap), so each worker numbers its connections
// with a plain counter. Shown as 16 hex digits (`id=0001000000000002`: worker 1's second
// connection): fixed width, easy to grep, and a string in JSON, so tools that read numbers as
// doubles (jq, JavaScript) cannot round it.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace edge::log {

inline constexpr int kConnectionCounterBits = 48;

// The first id worker `index` hands out is connectionIdBase(index) + 1.
constexpr uint64_t connectionIdBase(uint64_t worker_index) {
  return worker_index << kConnectionCounterBits;
}

// 16 lowercase hex digits; view() is valid as long as the object.
class ConnectionIdText {
 public:
  explicit ConnectionIdText(uint64_t id) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i, id >>= 4) text_[static_cast<size_t>(i)] = kHex[id & 0xF];
  }
  std::string_view view() const { return {text_.data(), text_.size()}; }
  std::string str() const { return std::string(view()); }

 private:
  std::array<char, 16> text_{};
};

inline std::string formatConnectionId(uint64_t id) {
  return ConnectionIdText(id).str();
}

}  // namespace edge::log
