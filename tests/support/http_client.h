// http_get / http_request: a blocking HTTP/1.1 client for tests (the admin endpoint). One request
// per connection (Connection: close), the whole answer read to EOF within the timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace edge::test {

struct HttpResponse {
  int status = 0;                              // 0: no HTTP answer (see error)
  std::map<std::string, std::string> headers;  // names lower-case; a repeated one: the last
  std::string body;                            // chunked transfer decoded
  std::string error;                           // why status is 0

  std::string header(const std::string& lower_name) const;  // "" when absent
};

// `method` `target` (path and query) to 127.0.0.1-style `address`:`port`; `extra_headers` are
// sent as given ("Origin: http://x"). A non-empty `body` gets a Content-Length.
HttpResponse http_request(const std::string& method, const std::string& address, std::uint16_t port,
                          const std::string& target,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5),
                          const std::string& body = "",
                          const std::map<std::string, std::string>& extra_headers = {});

inline HttpResponse http_get(const std::string& address, std::uint16_t port,
                             const std::string& target,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return http_request("GET", address, port, target, timeout);
}

}  // namespace edge::test
