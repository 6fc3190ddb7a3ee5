#include "discovery/dns_wire.h"

#include <cctype>

namespace edge::discovery {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr int kMaxPointerHops = 64;

uint16_t read16(std::span<const uint8_t> m, size_t at) {
  return static_cast<uint16_t>((m[at] << 8) | m[at + 1]);
}

uint32_t read32(std::span<const uint8_t> m, size_t at) {
  return (uint32_t{m[at]} << 24) | (uint32_t{m[at + 1]} << 16) | (uint32_t{m[at + 2]} << 8) |
         uint32_t{m[at + 3]};
}

// Names end up in logs: bytes that are not plain printable text (and dots, quotes, backslashes
// inside a label) are written as \DDD, as dig does, so a hostile answer cannot break a line.
void appendLabelByte(std::string& name, uint8_t byte) {
  const bool plain = byte > 0x20 && byte < 0x7F && byte != '.' && byte != '"' && byte != '\\';
  if (plain) {
    name += static_cast<char>(std::tolower(byte));
    return;
  }
  name += '\\';
  name += static_cast<char>('0' + byte / 100);
  name += static_cast<char>('0' + byte / 10 % 10);
  name += static_cast<char>('0' + byte % 10);
}

// Decodes the name at `offset`; sets `end` to the first byte after it in the original position.
std::optional<std::string> decodeName(std::span<const uint8_t> m, size_t offset, size_t* end) {
  std::string name;
  size_t wire_length = 1;  // the root label
  size_t pos = offset;
  bool jumped = false;
  for (int hops = 0; hops <= kMaxPointerHops;) {
    if (pos >= m.size()) return std::nullopt;
    const uint8_t len = m[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= m.size()) return std::nullopt;
      if (!jumped && end) *end = pos + 2;
      jumped = true;
      pos = static_cast<size_t>(((len & 0x3F) << 8) | m[pos + 1]);
      ++hops;
      continue;
    }
    if ((len & 0xC0) != 0) return std::nullopt;  // reserved label types
    if (len == 0) {
      if (!jumped && end) *end = pos + 1;
      return name;
    }
    wire_length += 1 + len;
    if (pos + 1 + len > m.size() || wire_length > 255) return std::nullopt;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < len; ++i) appendLabelByte(name, m[pos + 1 + i]);
    pos += 1 + len;
  }
  return std::nullopt;  // pointer loop
}

}  // namespace

std::string normalizeName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::optional<std::string> readName(std::span<const uint8_t> message, size_t offset) {
  return decodeName(message, offset, nullptr);
}

std::optional<DnsMessage> parseMessage(std::span<const uint8_t> m) {
  if (m.size() < kHeaderSize) return std::nullopt;
  DnsMessage msg;
  const uint16_t flags = read16(m, 2);
  msg.truncated = (flags & 0x0200) != 0;
  msg.rcode = flags & 0x000F;
  const uint16_t qdcount = read16(m, 4);
  const uint16_t counts[3] = {read16(m, 6), read16(m, 8), read16(m, 10)};

  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < qdcount; ++i) {
    size_t end = 0;
    if (!decodeName(m, pos, &end) || end + 4 > m.size()) return std::nullopt;
    pos = end + 4;
  }
  const Section sections[3] = {Section::Answer, Section::Authority, Section::Additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s]; ++i) {
      size_t end = 0;
      auto name = decodeName(m, pos, &end);
      if (!name || end + 10 > m.size()) return std::nullopt;
      ResourceRecord rr;
      rr.section = sections[s];
      rr.name = std::move(*name);
      rr.type = read16(m, end);
      rr.rr_class = read16(m, end + 2);
      rr.ttl = read32(m, end + 4);
      if (rr.ttl > 0x7FFFFFFFu) rr.ttl = 0;  // RFC 2181 §8: treat as zero
      const uint16_t rdlength = read16(m, end + 8);
      rr.rdata_offset = end + 10;
      if (rr.rdata_offset + rdlength > m.size()) return std::nullopt;
      rr.rdata = m.subspan(rr.rdata_offset, rdlength);
      pos = rr.rdata_offset + rdlength;
      msg.records.push_back(std::move(rr));
    }
  }
  return msg;
}

std::optional<SrvData> parseSrv(std::span<const uint8_t> m, const ResourceRecord& rr) {
  if (rr.type != kTypeSrv || rr.rdata.size() < 7) return std::nullopt;
  SrvData srv;
  srv.priority = read16(rr.rdata, 0);
  srv.weight = read16(rr.rdata, 2);
  srv.port = read16(rr.rdata, 4);
  size_t end = 0;
  auto target = decodeName(m, rr.rdata_offset + 6, &end);
  if (!target || end > rr.rdata_offset + rr.rdata.size()) return std::nullopt;
  srv.target = std::move(*target);
  return srv;
}

std::optional<std::string> parseCname(std::span<const uint8_t> m, const ResourceRecord& rr) {
  if (rr.type != kTypeCname || rr.rdata.empty()) return std::nullopt;
  size_t end = 0;
  auto target = decodeName(m, rr.rdata_offset, &end);
  if (!target || end > rr.rdata_offset + rr.rdata.size()) return std::nullopt;
  return target;
}

std::optional<Question> readQuestion(std::span<const uint8_t> m) {
  if (m.size() < kHeaderSize || read16(m, 4) == 0) return std::nullopt;
  size_t end = 0;
  auto name = decodeName(m, kHeaderSize, &end);
  if (!name || end + 4 > m.size()) return std::nullopt;
  return Question{std::move(*name), read16(m, end)};
}

std::optional<std::string> caresQueryName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] != '\\') {
      out += name[i];
      continue;
    }
    int byte = 0;
    if (i + 3 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(name[i + 2])) &&
        std::isdigit(static_cast<unsigned char>(name[i + 3]))) {
      byte = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
      i += 3;
    } else if (i + 1 < name.size()) {
      byte = static_cast<unsigned char>(name[++i]);
    } else {
      return std::nullopt;
    }
    if (byte == 0 || byte > 255) return std::nullopt;
    out += '\\';
    out += static_cast<char>(byte);
  }
  return out;
}

}  // namespace edge::discovery
