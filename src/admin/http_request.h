#pragma once
// A strict, incremental HTTP/1.1 request parser for the admin endpoint (RFC 9112): the request
// line, the header fields and a Content-Length body, within fixed limits. Pure (no I/O), so the
// unit tests and the fuzz target (fuzz/http_request_fuzz.cpp) can give it any bytes.
//
// Refused, with the status to answer: a Transfer-Encoding (411: the endpoint takes no streamed
// bodies; send Content-Length), malformed lines, obs-fold, control characters, a bad or repeated
// Content-Length, a repeated Host (400), an HTTP major version other than 1 (505), a request line
// past kMaxHeadBytes (414), a head past kMaxHeadBytes or kMaxHeaderFields (431), a body past
// kMaxBodyBytes (413). A lone LF ends a line as CRLF does (RFC 9112 2.2 allows it; `printf | nc`
// users send it); a lone CR does not.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::admin {

inline constexpr size_t kMaxHeadBytes = 16 * 1024;  // request line and fields
inline constexpr size_t kMaxHeaderFields = 100;
inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HttpRequest {
  std::string method;
  std::string target;     // as sent
  std::string path;       // the target's path, percent-decoded
  std::string query;      // after '?', as sent
  int minor_version = 1;  // HTTP/1.x: 0 or 1 (a later 1.x is treated as 1.1)
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string body;
  // The client's wish: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with "keep-alive".
  bool keep_alive = true;

  // The first field `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // The first query parameter `name` ('+' and %XX decoded; "" for "?name"), or nullopt.
  std::optional<std::string> param(std::string_view name) const;
};

// %XX decoded (and '+' as a space when `plus_is_space`, as in a query); a '%' not followed by two
// hex digits stays as it is.
std::string percentDecode(std::string_view text, bool plus_is_space);

class RequestParser {
 public:
  enum class State { incomplete, complete, error };
  struct Result {
    State state = State::incomplete;
    size_t consumed = 0;  // complete: the request's length at the start of the buffer
    int status = 0;       // error: what to answer (400, 411, 413, 414, 431, 505)
    std::string reason;   // error: why, for the answer and the log
  };

  // `buffer`: the connection's bytes from the start of this request; between calls it may only
  // grow at its end (bytes already looked at are not scanned again, so a client sending one byte
  // at a time costs linear time). Complete: request() holds it. Error: final for this connection.
  Result parse(std::string_view buffer);
  HttpRequest& request() { return request_; }

  // For the next request, once the caller has dropped `consumed` bytes.
  void reset() { *this = RequestParser(); }

 private:
  Result parseHead(std::string_view head);
  Result fail(int status, std::string reason);

  HttpRequest request_;
  size_t scanned_ = 0;     // bytes looked at for the end of the head
  size_t line_start_ = 0;  // where the line being scanned starts
  size_t head_start_ = 0;  // after empty lines before the request line
  size_t lines_ = 0;       // lines of the head seen so far
  bool head_done_ = false;
  size_t body_start_ = 0;
  size_t body_length_ = 0;
  std::optional<Result> error_;
};

}  // namespace edge::admin
