#include "admin/http_request.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace edge::admin {
namespace {

bool isTchar(unsigned char c) {  // RFC 9110 5.6.2: the characters of a token (method, name)
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return isTchar(c); });
}

// A field value's characters: visible ASCII, space, tab and obs-text; no other control character.
bool isFieldValue(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether the comma-separated list `value` (Connection) has `token`.
bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (equalsIgnoreCase(trimOws(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
        hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else if (text[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

const std::string* HttpRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) return &v;
  }
  return nullptr;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (percentDecode(pair.substr(0, eq), true) == name) {
      return eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

RequestParser::Result RequestParser::fail(int status, std::string reason) {
  error_ = Result{State::error, 0, status, std::move(reason)};
  return *error_;
}

RequestParser::Result RequestParser::parse(std::string_view buffer) {
  if (error_) return *error_;
  if (!head_done_) {
    // Look for the empty line that ends the head, only in bytes not seen yet.
    const size_t limit = std::min(buffer.size(), kMaxHeadBytes);
    for (; scanned_ < limit && !head_done_; ++scanned_) {
      if (buffer[scanned_] != '\n') continue;
      const size_t length = scanned_ - line_start_;
      const bool empty = length == 0 || (length == 1 && buffer[line_start_] == '\r');
      if (empty && lines_ == 0) {
        head_start_ = scanned_ + 1;  // empty lines before the request line are ignored (9112 2.2)
      } else if (empty) {
        head_done_ = true;
        body_start_ = scanned_ + 1;
        const auto head = parseHead(buffer.substr(head_start_, line_start_ - head_start_));
        if (head.state == State::error) return head;
      } else if (++lines_ > kMaxHeaderFields + 1) {
        return fail(431, "more than " + std::to_string(kMaxHeaderFields) + " header fields");
      }
      line_start_ = scanned_ + 1;
    }
    if (!head_done_) {
      if (buffer.size() < kMaxHeadBytes) return {};
      return lines_ == 0
                 ? fail(414, "request line longer than " + std::to_string(kMaxHeadBytes) + " bytes")
                 : fail(431,
                        "request head longer than " + std::to_string(kMaxHeadBytes) + " bytes");
    }
  }
  if (buffer.size() - body_start_ < body_length_) return {};
  request_.body.assign(buffer.substr(body_start_, body_length_));
  return Result{State::complete, body_start_ + body_length_, 0, {}};
}

RequestParser::Result RequestParser::parseHead(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const auto lf = head.find('\n');
    auto line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return fail(400, "a CR not followed by LF");
    lines.push_back(line);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
  }
  if (lines.empty()) return fail(400, "no request line");

  // request-line = method SP request-target SP HTTP-version, single spaces.
  const std::string_view line = lines[0];
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return fail(400, "malformed request line");
  }
  const auto method = line.substr(0, sp1);
  const auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const auto version = line.substr(sp2 + 1);
  if (!isToken(method)) return fail(400, "malformed method");
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
      })) {
    return fail(400, "malformed request target");
  }
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !digit(version[5]) ||
      version[6] != '.' || !digit(version[7])) {
    return fail(400, "malformed HTTP version");
  }
  if (version[5] != '1') return fail(505, "only HTTP/1.x is supported");
  request_.method = method;
  request_.target = target;
  request_.minor_version = version[7] == '0' ? 0 : 1;

  // origin-form "/path?query"; absolute-form "http://host/path?query" (servers must accept it);
  // "*" (OPTIONS) is kept as its own path, which no route has.
  std::string_view path_and_query = target;
  if (target.front() != '/' && target != "*") {
    const auto scheme = target.find("://");
    if (scheme == std::string_view::npos || !equalsIgnoreCase(target.substr(0, scheme), "http")) {
      return fail(400, "malformed request target");
    }
    const auto slash = target.find('/', scheme + 3);
    path_and_query = slash == std::string_view::npos ? "/" : target.substr(slash);
  }
  const auto question = path_and_query.find('?');
  request_.path = percentDecode(path_and_query.substr(0, question), false);
  if (question != std::string_view::npos) request_.query = path_and_query.substr(question + 1);

  size_t hosts = 0;
  std::optional<std::string_view> content_length;
  bool transfer_encoding = false;
  bool close = false;
  bool keep_alive = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string_view field = lines[i];
    if (field.front() == ' ' || field.front() == '\t') {
      return fail(400, "obs-fold (a header line starting with white space)");
    }
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || !isToken(field.substr(0, colon))) {
      return fail(400, "malformed header field");
    }
    const auto name = field.substr(0, colon);
    const auto value = trimOws(field.substr(colon + 1));
    if (!isFieldValue(value)) return fail(400, "control character in a header value");
    if (equalsIgnoreCase(name, "Host")) {
      if (++hosts > 1) return fail(400, "more than one Host");
    } else if (equalsIgnoreCase(name, "Content-Length")) {
      if (content_length) return fail(400, "more than one Content-Length");
      content_length = value;
    } else if (equalsIgnoreCase(name, "Transfer-Encoding")) {
      transfer_encoding = true;
    } else if (equalsIgnoreCase(name, "Connection")) {
      close = close || hasToken(value, "close");
      keep_alive = keep_alive || hasToken(value, "keep-alive");
    }
    request_.headers.emplace_back(name, value);
  }
  // Both framings at once is how requests are smuggled past proxies: refuse it outright.
  if (transfer_encoding && content_length) {
    return fail(400, "both Transfer-Encoding and Content-Length");
  }
  if (transfer_encoding) {
    return fail(411, "Transfer-Encoding (chunked) bodies are not accepted; send Content-Length");
  }
  if (content_length) {
    const auto text = *content_length;
    if (text.empty() || !std::all_of(text.begin(), text.end(), digit)) {
      return fail(400, "malformed Content-Length");
    }
    uint64_t length = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
    if (ec != std::errc() || length > kMaxBodyBytes) {
      return fail(413, "body longer than " + std::to_string(kMaxBodyBytes) + " bytes");
    }
    body_length_ = static_cast<size_t>(length);
  }
  request_.keep_alive = !close && (request_.minor_version >= 1 || keep_alive);
  return {};
}

}  // namespace edge::admin
