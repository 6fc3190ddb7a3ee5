// The admin endpoint's HTTP request parser (admin/http_request.h) over any bytes a client may
// send. Invariants: fed in pieces (as the connection reads them) it gives what it gives on the
// whole; a complete request takes no more bytes than were given, within the limits, and every
// shorter prefix of it is incomplete (the server waits instead of answering early); an error
// has a status the server knows and a reason; an incomplete input is under the limits.
#include <algorithm>
#include <cstdint>
#include <string_view>

#include "admin/http_request.h"
#include "admin/http_response.h"
#include "fuzz_check.h"

namespace {

using namespace edge::admin;
using State = RequestParser::State;

bool sameResult(const RequestParser::Result& a, const RequestParser::Result& b) {
  return a.state == b.state && a.consumed == b.consumed && a.status == b.status &&
         a.reason == b.reason;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  RequestParser whole;
  const auto result = whole.parse(bytes);

  // In pieces: byte by byte when short, else 61 bytes at a time.
  RequestParser pieces;
  RequestParser::Result last;
  const size_t step = size <= 4096 ? 1 : 61;
  for (size_t n = 0;; n = std::min(size, n + step)) {
    last = pieces.parse(bytes.substr(0, n));
    if (last.state != State::incomplete || n == size) break;
  }
  FUZZ_CHECK(sameResult(last, result));

  switch (result.state) {
    case State::complete: {
      const HttpRequest& request = whole.request();
      FUZZ_CHECK(result.consumed > 0 && result.consumed <= size);
      FUZZ_CHECK(result.consumed <= kMaxHeadBytes + kMaxBodyBytes);
      FUZZ_CHECK(request.body.size() <= kMaxBodyBytes);
      FUZZ_CHECK(bytes.substr(0, result.consumed).ends_with(request.body));
      FUZZ_CHECK(!request.method.empty() && !request.target.empty() && !request.path.empty());
      FUZZ_CHECK(request.minor_version == 0 || request.minor_version == 1);
      FUZZ_CHECK(request.headers.size() <= kMaxHeaderFields);
      FUZZ_CHECK(pieces.request().path == request.path);
      FUZZ_CHECK(pieces.request().headers == request.headers);
      FUZZ_CHECK(pieces.request().keep_alive == request.keep_alive);
      for (size_t n : {size_t{0}, result.consumed / 2, result.consumed - 1}) {
        RequestParser prefix;
        FUZZ_CHECK(prefix.parse(bytes.substr(0, n)).state == State::incomplete);
      }
      // What the admin server then does with it must not fail either.
      (void)request.param("route");
      (void)request.param("limit");
      (void)request.header("Origin");
      HttpResponse response;
      response.body = request.path;
      FUZZ_CHECK(formatHead(response, request.keep_alive, 1).ends_with("\r\n\r\n"));
      break;
    }
    case State::error:
      FUZZ_CHECK(!result.reason.empty());
      FUZZ_CHECK(!reasonPhrase(result.status).empty());
      FUZZ_CHECK(result.status == 400 || result.status == 411 || result.status == 413 ||
                 result.status == 414 || result.status == 431 || result.status == 505);
      break;
    case State::incomplete:
      FUZZ_CHECK(size < kMaxHeadBytes + kMaxBodyBytes);
      break;
  }
  return 0;
}
