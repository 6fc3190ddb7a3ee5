// The value parsers for durations (config/duration.h), endpoints (net/endpoint.h) and address
// ranges (net/cidr.h). The first byte picks the parser, the rest is the text. Each checks a round
// trip: what parses, formatted and parsed again, gives the same value.
#include <cstdint>
#include <string>
#include <string_view>

#include "config/duration.h"
#include "fuzz_check.h"
#include "net/cidr.h"
#include "net/endpoint.h"

namespace {

using namespace edge;

void durations(std::string_view text) {
  if (auto d = config::parseDuration(text)) {
    FUZZ_CHECK(d->count() >= 0);
    FUZZ_CHECK(config::parseDuration(config::formatDuration(*d)) == d);
  }
  if (auto d = config::parseOptionalDuration(text)) {
    if (*d) FUZZ_CHECK((*d)->count() > 0);
    FUZZ_CHECK(config::parseOptionalDuration(config::formatDuration(*d)) == d);
  }
}

void endpoints(std::string_view text, uint8_t selector) {
  const auto min_port = static_cast<uint16_t>(selector & 1);
  const bool bare_port = (selector & 2) != 0;
  if (auto port = net::parsePort(text, min_port)) {
    FUZZ_CHECK(*port >= min_port);
    FUZZ_CHECK(net::parsePort(std::to_string(*port), min_port) == port);
  }
  if (auto address = net::parseAddress(text)) {
    // All of the text is the address: nothing after a NUL byte is ignored (a C string would).
    FUZZ_CHECK(text.find('\0') == std::string_view::npos);
    const auto formatted = net::format(net::Endpoint(*address, 80));
    const auto again = net::parseHostPort(formatted, false);
    FUZZ_CHECK(again && again->address == address && again->port == 80);
  }
  if (auto hp = net::parseHostPort(text, bare_port, min_port)) {
    FUZZ_CHECK(hp->address || hp->port);
    if (!hp->address) FUZZ_CHECK(bare_port);
    if (hp->port) FUZZ_CHECK(*hp->port >= min_port);
    if (hp->address && hp->port) {
      const auto formatted = net::format(net::Endpoint(*hp->address, *hp->port));
      net::EndpointText buffer;
      FUZZ_CHECK(net::formatInto(net::Endpoint(*hp->address, *hp->port), buffer) == formatted);
      const auto again = net::parseHostPort(formatted, bare_port, min_port);
      FUZZ_CHECK(again && again->address == hp->address && again->port == hp->port);
    }
  }
}

// A range that parses writes back as a range that parses to itself, holds its own network
// address, and judges an address and its IPv4-mapped form alike.
void ranges(std::string_view text) {
  std::string why;
  auto cidr = net::Cidr::parse(text, &why);
  if (!cidr) {
    FUZZ_CHECK(!why.empty());
    return;
  }
  FUZZ_CHECK(cidr->prefix() >= 0 && cidr->prefix() <= (cidr->v4() ? 32 : 128));
  const auto written = cidr->text();
  FUZZ_CHECK(net::Cidr::parse(written) == cidr);
  const auto network = asio::ip::make_address(written.substr(0, written.find('/')));
  FUZZ_CHECK(cidr->contains(network));
  if (network.is_v4()) {
    FUZZ_CHECK(cidr->contains(asio::ip::make_address_v6(asio::ip::v4_mapped, network.to_v4())));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 0x80) {
    durations(text);
  } else if (data[0] & 0x40) {
    ranges(text);
  } else {
    endpoints(text, data[0]);
  }
  return 0;
}
