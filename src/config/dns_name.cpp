#include "config/dns_name.h"

#include <algorithm>

#include "config/error_line.h"

namespace edge::config {
namespace {

bool isLabelByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::string> dnsNameProblem(std::string_view name) {
  constexpr size_t kMaxName = 253, kMaxLabel = 63;
  const std::string why = "is not a DNS name: ";
  for (size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c != '.' && !isLabelByte(c)) {
      return why + "byte " + std::to_string(i + 1) + " is '" + shown(name.substr(i, 1)) +
             "' (letters, digits, '-', '_' and '.' only)";
    }
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // the root, written out
  if (name.empty()) return why + "it is empty";
  if (name.size() > kMaxName) {
    return why + std::to_string(name.size()) + " bytes, at most " + std::to_string(kMaxName);
  }
  std::string_view last;
  for (size_t start = 0, n = 1; start <= name.size(); ++n) {
    const auto end = std::min(name.find('.', start), name.size());
    const auto label = name.substr(start, end - start);
    const auto which = "label " + std::to_string(n);
    if (label.empty()) return why + which + " is empty";
    if (label.size() > kMaxLabel) {
      return why + which + " is " + std::to_string(label.size()) + " bytes, at most " +
             std::to_string(kMaxLabel);
    }
    if (label.front() == '-' || label.back() == '-') {
      return why + which + " ('" + std::string(label) + "') starts or ends with '-'";
    }
    last = label;
    start = end + 1;
  }
  if (std::all_of(last.begin(), last.end(), isDigit)) {
    return why + "the last label is all digits (an IP address? --target takes a name to discover)";
  }
  return std::nullopt;
}

}  // namespace edge::config
