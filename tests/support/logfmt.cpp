#include "logfmt.h"

#include <charconv>

namespace edge::test {

LogfmtRecord LogfmtRecord::parse(std::string_view line) {
  LogfmtRecord record;
  std::size_t i = 0;
  const auto at_space = [&] { return line[i] == ' ' || line[i] == '\t'; };
  while (i < line.size()) {
    while (i < line.size() && at_space()) ++i;
    std::string key;
    while (i < line.size() && !at_space() && line[i] != '=') key += line[i++];
    std::string value;
    if (i < line.size() && line[i] == '=') {
      ++i;
      if (i < line.size() && line[i] == '"') {
        for (++i; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) ++i;
          value += line[i];
        }
        ++i;  // closing quote
      } else {
        while (i < line.size() && !at_space()) value += line[i++];
      }
    }
    if (!key.empty()) record.fields_[key] = value;
  }
  return record;
}

std::string LogfmtRecord::get(const std::string& key) const {
  const auto it = fields_.find(key);
  return it == fields_.end() ? std::string() : it->second;
}

std::optional<long long> LogfmtRecord::integer(const std::string& key) const {
  const std::string value = get(key);
  long long out = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace edge::test
