// The admin endpoint's request parser: legal requests at their worst (pipelined, split at every
// byte, lone LFs, absolute-form, limits exactly reached) and illegal ones, each with its status.
#include "admin/http_request.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::admin {
namespace {

using State = RequestParser::State;

struct Parsed {
  RequestParser::Result result;
  HttpRequest request;
};

Parsed parse(const std::string& bytes) {
  RequestParser parser;
  Parsed p{parser.parse(bytes), {}};
  if (p.result.state == State::complete) p.request = parser.request();
  return p;
}

int errorStatus(const std::string& bytes) {
  const auto p = parse(bytes);
  EXPECT_EQ(p.result.state, State::error) << bytes.substr(0, 200);
  return p.result.status;
}

TEST(HttpRequestParser, SimpleGet) {
  const auto p = parse("GET /connections?route=a%20b&limit=5 HTTP/1.1\r\nHost: x:1\r\n\r\n");
  ASSERT_EQ(p.result.state, State::complete);
  EXPECT_EQ(p.result.consumed, 60u);
  EXPECT_EQ(p.request.method, "GET");
  EXPECT_EQ(p.request.path, "/connections");
  EXPECT_EQ(p.request.query, "route=a%20b&limit=5");
  EXPECT_EQ(p.request.param("route"), "a b");
  EXPECT_EQ(p.request.param("limit"), "5");
  EXPECT_EQ(p.request.param("nope"), std::nullopt);
  ASSERT_NE(p.request.header("host"), nullptr);
  EXPECT_EQ(*p.request.header("HOST"), "x:1");
  EXPECT_TRUE(p.request.keep_alive);
  EXPECT_EQ(p.request.body, "");
}

TEST(HttpRequestParser, IncompleteUntilTheEmptyLineAndTheWholeBody) {
  const std::string full = "POST /reload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(parse(full.substr(0, n)).result.state, State::incomplete) << n;
  }
  const auto p = parse(full);
  ASSERT_EQ(p.result.state, State::complete);
  EXPECT_EQ(p.request.body, "abc");
}

// Fed one byte at a time into the same parser: the same request as all at once.
TEST(HttpRequestParser, ByteByByteEqualsAllAtOnce) {
  const std::string full =
      "\r\nPOST /reload?x=1 HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n"
      "Origin:  http://a \t\r\n\r\nokGET / HTTP/1.1\r\n\r\n";
  RequestParser parser;
  RequestParser::Result r;
  size_t n = 0;
  for (; n <= full.size(); ++n) {
    r = parser.parse(std::string_view(full).substr(0, n));
    if (r.state != State::incomplete) break;
  }
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(r.consumed, n);
  const auto& req = parser.request();
  EXPECT_EQ(req.path, "/reload");
  EXPECT_EQ(req.body, "ok");
  EXPECT_EQ(req.minor_version, 0);
  EXPECT_TRUE(req.keep_alive);
  EXPECT_EQ(*req.header("origin"), "http://a");
  // The pipelined next request, after reset().
  parser.reset();
  r = parser.parse(std::string_view(full).substr(n));
  ASSERT_EQ(r.state, State::complete);
  EXPECT_EQ(parser.request().path, "/");
}

TEST(HttpRequestParser, KeepAliveRules) {
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n").request.keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\n\r\n").request.keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").request.keep_alive);
  // A later 1.x is answered as 1.1.
  const auto later = parse("GET / HTTP/1.9\r\n\r\n");
  EXPECT_EQ(later.result.state, State::complete);
  EXPECT_EQ(later.request.minor_version, 1);
}

TEST(HttpRequestParser, LoneLfEndsLinesAsCrlf) {
  const auto p = parse("GET /healthz HTTP/1.0\nHost: a\n\n");
  ASSERT_EQ(p.result.state, State::complete);
  EXPECT_EQ(p.request.path, "/healthz");
  EXPECT_EQ(*p.request.header("host"), "a");
}

TEST(HttpRequestParser, PathPercentDecodedAbsoluteFormAndAsterisk) {
  EXPECT_EQ(parse("GET /heal%74hz HTTP/1.1\r\n\r\n").request.path, "/healthz");
  EXPECT_EQ(parse("GET /a%zz%4 HTTP/1.1\r\n\r\n").request.path, "/a%zz%4");  // kept as sent
  EXPECT_EQ(parse("GET /a+b HTTP/1.1\r\n\r\n").request.path, "/a+b");        // '+' only in query
  const auto absolute = parse("GET HTTP://h:1/ready?x=y HTTP/1.1\r\nHost: h:1\r\n\r\n");
  EXPECT_EQ(absolute.request.path, "/ready");
  EXPECT_EQ(absolute.request.query, "x=y");
  EXPECT_EQ(parse("GET http://h:1 HTTP/1.1\r\n\r\n").request.path, "/");
  EXPECT_EQ(parse("OPTIONS * HTTP/1.1\r\n\r\n").request.path, "*");
}

TEST(HttpRequestParser, QueryParameters) {
  const auto p = parse("GET /c?a&b=&c=1+2&c=3&%6c=%31 HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.request.param("a"), "");
  EXPECT_EQ(p.request.param("b"), "");
  EXPECT_EQ(p.request.param("c"), "1 2");  // the first one
  EXPECT_EQ(p.request.param("l"), "1");
}

TEST(HttpRequestParser, MalformedRequestLines) {
  for (const char* bad :
       {"GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 \r\n\r\n", "GET /\r\n\r\n", "GET\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n", "GET / http/1.1\r\n\r\n", "GET / HTTP/1.10\r\n\r\n",
        "GET / HTTP/1\r\n\r\n", "GET / HTTP/a.1\r\n\r\n", "GET a HTTP/1.1\r\n\r\n",
        "GET ftp://x/ HTTP/1.1\r\n\r\n", "GET /\x7f HTTP/1.1\r\n\r\n",
        "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", "GET /\tx HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\rHost: x\r\n\r\n", "\x16\x03\x01\x02\x01\x01\xfc\x03\x03\n\n"}) {
    EXPECT_EQ(errorStatus(bad), 400) << bad;
  }
}

TEST(HttpRequestParser, OnlyHttp1) {
  EXPECT_EQ(errorStatus("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(errorStatus("GET / HTTP/0.9\r\n\r\n"), 505);
}

TEST(HttpRequestParser, MalformedFields) {
  for (const char* bad : {
           "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",   // obs-fold
           "GET / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",             // space before the colon
           "GET / HTTP/1.1\r\nno colon\r\n\r\n",
           "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",  // control character
           "GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n",
           "GET / HTTP/1.1\r\nX: a\rz\r\n\r\n",  // a lone CR
           "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
           "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 0x1\r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: \r\n\r\n",
           "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       }) {
    EXPECT_EQ(errorStatus(bad), 400) << bad;
  }
  // obs-text in a value is legal.
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n").result.state, State::complete);
}

TEST(HttpRequestParser, NoChunkedBodies) {
  EXPECT_EQ(errorStatus("POST /reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            411);
  EXPECT_EQ(errorStatus("POST /reload HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 411);
}

TEST(HttpRequestParser, BodyLimit) {
  const std::string at_limit =
      "POST /reload HTTP/1.1\r\nContent-Length: " + std::to_string(kMaxBodyBytes) + "\r\n\r\n" +
      std::string(kMaxBodyBytes, 'x');
  EXPECT_EQ(parse(at_limit).result.state, State::complete);
  // Refused as soon as the head says so, without waiting for the body.
  EXPECT_EQ(errorStatus("POST /reload HTTP/1.1\r\nContent-Length: " +
                        std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n"),
            413);
  EXPECT_EQ(errorStatus("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 413);
}

TEST(HttpRequestParser, HeadLimits) {
  // Exactly kMaxHeadBytes, empty line included: accepted.
  const std::string start = "GET / HTTP/1.1\r\nX: ";
  const std::string at_limit =
      start + std::string(kMaxHeadBytes - start.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(at_limit.size(), kMaxHeadBytes);
  EXPECT_EQ(parse(at_limit).result.state, State::complete);
  // One more byte: 431, whether the rest has arrived or not.
  const std::string over = start + std::string(kMaxHeadBytes - start.size() - 3, 'a');
  EXPECT_EQ(errorStatus(over + "\r\n\r\n"), 431);
  EXPECT_EQ(errorStatus(over + "\r\nX"), 431);  // no end within the limit
  EXPECT_EQ(errorStatus(start + std::string(100 * 1024, 'a')), 431);
  // A request line that never ends: 414.
  EXPECT_EQ(errorStatus("GET /" + std::string(kMaxHeadBytes, 'a')), 414);
  // Endless empty lines before a request line: refused as well.
  EXPECT_EQ(errorStatus(std::string(kMaxHeadBytes, '\n')), 414);

  std::string fields = "GET / HTTP/1.1\r\n";
  for (size_t i = 0; i < kMaxHeaderFields; ++i) fields += "X: 1\r\n";
  EXPECT_EQ(parse(fields + "\r\n").result.state, State::complete);
  EXPECT_EQ(errorStatus(fields + "X: 1\r\n"), 431);  // known before the head ends
}

TEST(HttpRequestParser, AnErrorIsFinal) {
  RequestParser parser;
  EXPECT_EQ(parser.parse("BAD\r\n\r\n").state, State::error);
  EXPECT_EQ(parser.parse("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n").state, State::error);
}

TEST(PercentDecode, PlusAndInvalidEscapes) {
  EXPECT_EQ(percentDecode("a+b%2Bc", true), "a b+c");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_EQ(percentDecode("%", true), "%");
  EXPECT_EQ(percentDecode("%4", true), "%4");
  EXPECT_EQ(percentDecode("%00", true), std::string(1, '\0'));
}

}  // namespace
}  // namespace edge::admin
