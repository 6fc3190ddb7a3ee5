#include "admin/http_response.h"

namespace edge::admin {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string formatHead(const HttpResponse& response, bool keep_alive, int idle_seconds) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " ";
  head += reasonPhrase(response.status);
  head += "\r\nContent-Type: " + response.content_type;
  head += "\r\nContent-Length: " + std::to_string(response.body.size());
  // The answers are live state (never to be cached) and typed by the server, not guessed.
  head += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff";
  for (const auto& [name, value] : response.headers) head += "\r\n" + name + ": " + value;
  if (keep_alive) {
    head += "\r\nConnection: keep-alive\r\nKeep-Alive: timeout=" + std::to_string(idle_seconds);
  } else {
    head += "\r\nConnection: close";
  }
  head += "\r\n\r\n";
  return head;
}

}  // namespace edge::admin
