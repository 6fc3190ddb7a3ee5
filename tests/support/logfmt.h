// A small logfmt parser for the daemon's access log: `key=value key2="quoted \"value\""`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace edge::test {

class LogfmtRecord {
 public:
  static LogfmtRecord parse(std::string_view line);

  bool has(const std::string& key) const { return fields_.contains(key); }
  // The value, or "" if the key is missing (a key without '=' also has the value "").
  std::string get(const std::string& key) const;
  std::optional<long long> integer(const std::string& key) const;
  const std::map<std::string, std::string>& fields() const { return fields_; }

 private:
  std::map<std::string, std::string> fields_;
};

}  // namespace edge::test
