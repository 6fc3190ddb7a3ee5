#include "config/error_line.h"

namespace edge::config {

std::string shown(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  const auto head = value.substr(0, kShownBytes);
  out.reserve(head.size() + 24);
  for (const char ch : head) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte == '\\') {
      out += "\\\\";
    } else if (byte == '\n') {
      out += "\\n";
    } else if (byte == '\r') {
      out += "\\r";
    } else if (byte == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += ch;
    }
  }
  if (value.size() > head.size()) out += "...(" + std::to_string(value.size()) + " bytes)";
  return out;
}

std::string errorLine(const OptionSpec& spec, std::optional<std::string_view> value,
                      std::string_view why) {
  std::string line = "error: " + std::string(spec.flag) + " / " + std::string(spec.env) + ": ";
  if (value) line += "'" + shown(*value) + "' ";
  line += why;
  return line;
}

}  // namespace edge::config
