#include "admin/http_response.h"

#include <gtest/gtest.h>

namespace edge::admin {
namespace {

TEST(HttpResponseHead, KeepAliveWithTheDefaultAndOwnHeaders) {
  HttpResponse r;
  r.status = 405;
  r.body = "no\n";
  r.headers = {{"Allow", "POST"}};
  EXPECT_EQ(formatHead(r, true, 1),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Allow: POST\r\nConnection: keep-alive\r\nKeep-Alive: timeout=1\r\n\r\n");
}

TEST(HttpResponseHead, Close) {
  HttpResponse r{.status = 413, .content_type = "application/json", .body = "", .headers = {}};
  EXPECT_EQ(formatHead(r, false, 1),
            "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
            "Content-Length: 0\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Connection: close\r\n\r\n");
}

TEST(HttpResponseHead, EveryStatusTheServerUsesHasItsPhrase) {
  for (int status : {200, 400, 403, 404, 405, 411, 413, 414, 431, 500, 503, 505}) {
    EXPECT_NE(reasonPhrase(status), "") << status;
  }
}

}  // namespace
}  // namespace edge::admin
