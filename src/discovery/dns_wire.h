#pragma once
// A small, defensive walker over a raw DNS reply. c-ares 1.18's SRV parser drops TTLs and the
// additional section, so we read those ourselves. Any malformed input yields nullopt; it never
// reads out of bounds (fuzz/dns_wire_fuzz.cpp; a mutation loop in its unit test too).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace edge::discovery {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kClassIn = 1;

enum class Section { Answer, Authority, Additional };

struct ResourceRecord {
  Section section = Section::Answer;
  std::string name;  // lower-case, no trailing dot
  uint16_t type = 0;
  uint16_t rr_class = 0;
  uint32_t ttl = 0;
  std::span<const uint8_t> rdata;  // points into the message
  size_t rdata_offset = 0;         // for names inside rdata (compression is message-relative)
};

struct SrvData {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // lower-case, no trailing dot
};

struct DnsMessage {
  uint16_t rcode = 0;
  bool truncated = false;
  std::vector<ResourceRecord> records;
};

std::optional<DnsMessage> parseMessage(std::span<const uint8_t> message);

// Reads a (possibly compressed) name starting at `offset`.
std::optional<std::string> readName(std::span<const uint8_t> message, size_t offset);

std::optional<SrvData> parseSrv(std::span<const uint8_t> message, const ResourceRecord& rr);

// The alias target of a CNAME record (must lie within its rdata).
std::optional<std::string> parseCname(std::span<const uint8_t> message, const ResourceRecord& rr);

struct Question {
  std::string name;  // as readName writes it
  uint16_t type = 0;
};

// The first question of a message (replies echo it); nullopt if malformed.
std::optional<Question> readQuestion(std::span<const uint8_t> message);

// The name in the form c-ares 1.18's ares_query takes: it reads "\X" as the byte X but not the
// \DDD escapes our names carry (b1\046test would be asked as b1046test), so every escaped
// byte is written as a backslash and the byte itself. nullopt for a name holding a NUL byte
// (a C string cannot carry it) or a malformed escape.
std::optional<std::string> caresQueryName(std::string_view name);

// Lower-cases and strips one trailing dot, so names compare as DNS compares them.
std::string normalizeName(std::string_view name);

}  // namespace edge::discovery
