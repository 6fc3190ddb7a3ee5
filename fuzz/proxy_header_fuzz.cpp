// The PROXY protocol parser (proxy_protocol/header.h) over any bytes a client may send, and the
// writers it must agree with. Invariants: a Complete header takes no more bytes than were given
// (and no more than kMaxHeaderBytes); every shorter prefix of it is Incomplete (the reader waits
// for more instead of refusing or accepting early); an Invalid result says why; a header that
// names addresses, written again by our own writer and parsed, gives the same addresses.
#include <cstdint>
#include <span>

#include "fuzz_check.h"
#include "proxy_protocol/header.h"

namespace {

using namespace edge::proxy_protocol;

std::span<const uint8_t> bytesOf(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void roundTrip(const Header& header) {
  if (header.local || !header.source || !header.destination) return;
  const auto& src = *header.source;
  const auto& dst = *header.destination;
  for (const auto& written : {writeV1(src, dst), writeV2(src, dst, "0000000000000001")}) {
    const auto again = parse(bytesOf(written));
    FUZZ_CHECK(again.status == Status::Complete);
    FUZZ_CHECK(again.length == written.size());
    // Addresses compare unmapped: the writer writes IPv4-mapped IPv6 as IPv4.
    FUZZ_CHECK(again.header.source && again.header.source->port() == src.port());
    FUZZ_CHECK(again.header.destination && again.header.destination->port() == dst.port());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const auto result = parse(bytes);
  switch (result.status) {
    case Status::Complete: {
      FUZZ_CHECK(result.length > 0 && result.length <= size);
      FUZZ_CHECK(result.length <= kMaxHeaderBytes);
      FUZZ_CHECK(result.header.version == 1 || result.header.version == 2);
      FUZZ_CHECK(result.header.local || (result.header.source && result.header.destination));
      // Every prefix is Incomplete (a few of them: the shortest, the longest, one in between).
      for (size_t n : {size_t{0}, result.length / 2, result.length - 1}) {
        FUZZ_CHECK(parse(bytes.first(n)).status == Status::Incomplete);
      }
      // What follows the header does not change it.
      FUZZ_CHECK(parse(bytes.first(result.length)).length == result.length);
      roundTrip(result.header);
      break;
    }
    case Status::Invalid:
      FUZZ_CHECK(!result.error.empty());
      break;
    case Status::Incomplete:
      FUZZ_CHECK(size < kMaxHeaderBytes);  // at the limit, a header is complete or refused
      break;
  }
  return 0;
}
