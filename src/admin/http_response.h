#pragma once
// An admin endpoint answer and its HTTP/1.1 head. Pure, like the request parser.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::admin {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides those formatHead() adds
};

// "OK", "Not Found", ...; "" for a status it does not know.
std::string_view reasonPhrase(int status);

// Status line, Content-Type, Content-Length (of `body`, also for a HEAD that will not send it),
// the headers every answer has (Cache-Control: no-store, X-Content-Type-Options: nosniff), the
// response's own, then Connection: keep-alive (with Keep-Alive: timeout=`idle_seconds`) or close.
std::string formatHead(const HttpResponse& response, bool keep_alive, int idle_seconds);

}  // namespace edge::admin
