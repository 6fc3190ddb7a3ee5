#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "proxy_protocol/header.h"

namespace edge::proxy_protocol {
namespace {

using Bytes = std::vector<uint8_t>;
using namespace std::string_view_literals;

Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Bytes kSignature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// A v2 header: signature, version/command byte, family/protocol byte, then `body` with its
// length (or `length` when given, to lie about it).
Bytes v2(uint8_t ver_cmd, uint8_t fam, const Bytes& body, int length = -1) {
  Bytes out = kSignature;
  const auto n = static_cast<uint16_t>(length < 0 ? body.size() : static_cast<size_t>(length));
  out.insert(out.end(), {ver_cmd, fam, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)});
  return cat(out, body);
}

// 192.0.2.7:56324 -> 198.51.100.1:443
const Bytes kInetBody = {192, 0, 2, 7, 198, 51, 100, 1, 0xDC, 0x04, 0x01, 0xBB};

Bytes inet6Body() {
  Bytes b = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05,  // 2001:db8::5
             0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,  // 2001:db8::1
             0x30, 0x39, 0x00, 0x50};                                        // 12345, 80
  return b;
}

Bytes tlv(uint8_t type, const Bytes& value) {
  Bytes out = {type, static_cast<uint8_t>(value.size() >> 8), static_cast<uint8_t>(value.size())};
  return cat(out, value);
}

std::string endpoint(const std::optional<net::Endpoint>& ep) {
  return ep ? net::format(*ep) : "-";
}

struct Valid {
  const char* name;
  Bytes header;
  int version;
  bool local;
  std::string source;       // "-" when local
  std::string destination;  // "-" when local
};

std::vector<Valid> validHeaders() {
  Bytes unix_body(216, 'x');
  return {
      // The spec's v1 example, and its longest lines.
      {"v1 spec example", text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), 1, false,
       "192.168.0.1:56324", "192.168.0.11:443"},
      {"v1 longest TCP4", text("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"), 1,
       false, "255.255.255.255:65535", "255.255.255.255:65535"},
      {"v1 zeros", text("PROXY TCP4 0.0.0.0 10.0.0.1 0 0\r\n"), 1, false, "0.0.0.0:0",
       "10.0.0.1:0"},
      {"v1 TCP6", text("PROXY TCP6 2001:db8::5 ::1 12345 80\r\n"), 1, false, "[2001:db8::5]:12345",
       "[::1]:80"},
      {"v1 TCP6 full width upper case",
       text("PROXY TCP6 FFFF:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
            "fffe 65535 65535\r\n"),
       1, false, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
       "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"},
      {"v1 TCP6 mapped IPv4", text("PROXY TCP6 ::ffff:127.0.0.5 ::1 40000 25\r\n"), 1, false,
       "[::ffff:127.0.0.5]:40000", "[::1]:25"},
      {"v1 UNKNOWN short", text("PROXY UNKNOWN\r\n"), 1, true, "-", "-"},
      {"v1 UNKNOWN worst case (107 bytes)",
       text("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
       1, true, "-", "-"},
      {"v1 UNKNOWN anything", text("PROXY UNKNOWN whatever\tthe sender says\r\n"), 1, true, "-",
       "-"},
      {"v2 TCP over IPv4", v2(0x21, 0x11, kInetBody), 2, false, "192.0.2.7:56324",
       "198.51.100.1:443"},
      {"v2 TCP over IPv6", v2(0x21, 0x21, inet6Body()), 2, false, "[2001:db8::5]:12345",
       "[2001:db8::1]:80"},
      {"v2 LOCAL, no addresses", v2(0x20, 0x00, {}), 2, true, "-", "-"},
      {"v2 LOCAL with addresses (ignored)", v2(0x20, 0x11, kInetBody), 2, true, "-", "-"},
      {"v2 LOCAL ignores the family byte", v2(0x20, 0xFF, {1, 2, 3}), 2, true, "-", "-"},
      {"v2 PROXY AF_UNSPEC", v2(0x21, 0x00, {}), 2, true, "-", "-"},
      {"v2 PROXY AF_UNSPEC with bytes", v2(0x21, 0x00, {9, 9, 9, 9, 9}), 2, true, "-", "-"},
      {"v2 PROXY AF_INET, UNSPEC protocol", v2(0x21, 0x10, kInetBody), 2, true, "-", "-"},
      {"v2 PROXY AF_UNIX stream", v2(0x21, 0x31, unix_body), 2, true, "-", "-"},
      {"v2 TLVs (unique id, NOOP, empty)",
       v2(0x21, 0x11,
          cat(cat(cat(kInetBody, tlv(0x05, text("conn-42"))), tlv(0x04, Bytes(5, 0))),
              tlv(0xE0, {}))),
       2, false, "192.0.2.7:56324", "198.51.100.1:443"},
      {"v2 SSL TLV with sub-TLVs",
       v2(0x21, 0x21,
          cat(inet6Body(), tlv(0x20, cat({1, 0, 0, 0, 0}, tlv(0x21, text("TLSv1.3")))))),
       2, false, "[2001:db8::5]:12345", "[2001:db8::1]:80"},
      {"v2 of the most bytes accepted",
       v2(0x21, 0x11, cat(kInetBody, tlv(0x04, Bytes(1024 - 12 - 3, 0)))), 2, false,
       "192.0.2.7:56324", "198.51.100.1:443"},
  };
}

TEST(ProxyProtocolParse, ValidHeadersAreComplete) {
  for (const auto& c : validHeaders()) {
    SCOPED_TRACE(c.name);
    const auto r = parse(c.header);
    ASSERT_EQ(r.status, Status::Complete) << r.error;
    EXPECT_EQ(r.length, c.header.size());
    EXPECT_EQ(r.header.version, c.version);
    EXPECT_EQ(r.header.local, c.local);
    EXPECT_EQ(endpoint(r.header.source), c.source);
    EXPECT_EQ(endpoint(r.header.destination), c.destination);
  }
}

TEST(ProxyProtocolParse, BytesAfterTheHeaderAreNotPartOfIt) {
  const Bytes data = text("EHLO mail.example\r\n");
  for (const auto& c : validHeaders()) {
    SCOPED_TRACE(c.name);
    const auto r = parse(cat(c.header, data));
    ASSERT_EQ(r.status, Status::Complete) << r.error;
    EXPECT_EQ(r.length, c.header.size());
    EXPECT_EQ(endpoint(r.header.source), c.source);
  }
  // Data that looks like another header, or starts with CRLF, changes nothing.
  const Bytes v1 = text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
  EXPECT_EQ(parse(cat(v1, text("\r\nPROXY UNKNOWN\r\n"))).length, v1.size());
  const Bytes local = v2(0x20, 0x00, {});
  EXPECT_EQ(parse(cat(local, kSignature)).length, local.size());
}

TEST(ProxyProtocolParse, EveryPrefixOfAValidHeaderIsIncomplete) {
  for (const auto& c : validHeaders()) {
    SCOPED_TRACE(c.name);
    for (size_t n = 0; n < c.header.size(); ++n) {
      const auto r = parse(std::span(c.header.data(), n));
      EXPECT_EQ(r.status, Status::Incomplete) << "prefix of " << n << " bytes: " << r.error;
    }
  }
}

struct Invalid {
  const char* name;
  Bytes bytes;
  std::string error;  // a part of the error text
};

std::vector<Invalid> invalidHeaders() {
  return {
      {"HTTP request", text("GET / HTTP/1.1\r\n"), "not a PROXY header (starts with 0x47 'G')"},
      {"TLS hello", {0x16, 0x03, 0x01}, "not a PROXY header (starts with 0x16)"},
      {"NUL", {0x00}, "starts with 0x00"},
      {"one wrong letter", text("PROXZ"), "starts with 'P' but not \"PROXY \""},
      {"lower case", text("proxy TCP4"), "starts with 0x70 'p'"},
      {"PROXY without space", text("PROXY\r\n"), "not \"PROXY \""},
      {"v2 signature, wrong byte", {0x0D, 0x0A, 0x0D, 0x0A, 0x01}, "not the v2 signature"},
      {"CRLF then something else", text("\r\n\r\nX"), "not the v2 signature"},
      // v1
      {"v1 unknown protocol", text("PROXY UDP4 1.2.3.4"),
       "v1: protocol is not TCP4, TCP6 or UNKNOWN"},
      {"v1 TCP4 without space", text("PROXY TCP4\r\n"), "v1: protocol is not"},
      {"v1 UNKNOWNX", text("PROXY UNKNOWNX"), "v1: protocol is not"},
      {"v1 without CRLF in 107 bytes", text("PROXY UNKNOWN " + std::string(93, 'a')),
       "v1: no CRLF in the first 107 bytes"},
      {"v1 108-byte line", text("PROXY UNKNOWN " + std::string(92, 'a') + "\r\n"),
       "v1: no CRLF in the first 107 bytes"},
      {"v1 over 107 bytes of TCP6",
       text("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
            "ffff 65535 65535      \r\n"),
       "no CRLF in the first 107 bytes"},
      {"v1 lone LF", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "v1: LF without CR"},
      {"v1 lone CR", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), "v1: CR without LF"},
      {"v1 two spaces", text("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), "v1: empty field"},
      {"v1 trailing space", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "v1: empty field"},
      {"v1 missing port", text("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "v1: 4 fields"},
      {"v1 extra field", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), "more than 5 fields"},
      {"v1 leading zero in IPv4", text("PROXY TCP4 10.0.0.010 5.6.7.8 1 2\r\n"),
       "v1: source address \"10.0.0.010\" is not IPv4"},
      {"v1 octet over 255", text("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"),
       "v1: destination address \"5.6.7.256\" is not IPv4"},
      {"v1 three octets", text("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), "source address \"1.2.3\""},
      {"v1 five octets", text("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), "source address"},
      {"v1 empty octet", text("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), "source address"},
      {"v1 IPv6 in TCP4", text("PROXY TCP4 ::1 ::1 1 2\r\n"), "source address \"::1\" is not IPv4"},
      {"v1 IPv4 in TCP6", text("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), "is not IPv6"},
      {"v1 IPv6 zone", text("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), "is not IPv6"},
      {"v1 bad IPv6", text("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"), "is not IPv6"},
      {"v1 port 65536", text("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"),
       "v1: source port \"65536\" is not a port"},
      {"v1 port with leading zero", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 080\r\n"),
       "v1: destination port \"080\""},
      {"v1 port with plus", text("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), "source port \"+1\""},
      {"v1 port hex", text("PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n"), "source port"},
      {"v1 negative port", text("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), "source port"},
      {"v1 NUL in address", text("PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"sv), "source address"},
      // v2
      {"v2 version 1", v2(0x11, 0x11, kInetBody), "v2: version 1"},
      {"v2 version 3", v2(0x31, 0x11, kInetBody), "v2: version 3"},
      {"v2 version 0, cut short", cat(kSignature, {0x01}), "v2: version 0"},
      {"v2 command 2", v2(0x22, 0x11, kInetBody),
       "v2: command 2 is neither LOCAL (0) nor PROXY (1)"},
      {"v2 command 15", v2(0x2F, 0x11, kInetBody), "v2: command 15"},
      {"v2 unknown family 4", v2(0x21, 0x41, kInetBody), "v2: unknown family 4"},
      {"v2 unknown family 15, cut short", cat(kSignature, {0x21, 0xF1}), "unknown family 15"},
      {"v2 unknown protocol 3", v2(0x21, 0x13, kInetBody), "v2: unknown protocol 3"},
      {"v2 UDP", v2(0x21, 0x12, kInetBody), "v2: a DGRAM (UDP)"},
      {"v2 AF_INET length 11", v2(0x21, 0x11, Bytes(kInetBody.begin(), kInetBody.end() - 1)),
       "v2: length 11 is too short for AF_INET addresses (12 bytes)"},
      {"v2 AF_INET length 0", v2(0x21, 0x11, {}), "v2: length 0 is too short for AF_INET"},
      {"v2 AF_INET6 with IPv4's length", v2(0x21, 0x21, kInetBody),
       "v2: length 12 is too short for AF_INET6 addresses (36 bytes)"},
      {"v2 AF_UNIX length 12", v2(0x21, 0x31, kInetBody), "too short for AF_UNIX"},
      {"v2 length 2000 (only the fixed part at hand)", v2(0x21, 0x11, {}, 2000),
       "v2: header of 2016 bytes (length 2000) is longer than the 1040 accepted"},
      {"v2 length 65535", v2(0x20, 0x00, {}, 65535), "header of 65551 bytes"},
      {"v2 one byte over the limit", v2(0x21, 0x11, {}, 1025), "header of 1041 bytes"},
      {"v2 TLV past the end", v2(0x21, 0x11, cat(kInetBody, {0x05, 0x00, 0x09, 'a', 'b'})),
       "v2: TLV type 0x05 at byte 28 runs past the header's end (value of 9 bytes, 2 left)"},
      {"v2 TLV header cut short", v2(0x21, 0x11, cat(kInetBody, {0x04, 0x00})),
       "v2: TLV at byte 28 cut short (2 bytes left in the header)"},
      {"v2 second TLV past the end",
       v2(0x21, 0x21, cat(cat(inet6Body(), tlv(0x04, {0})), {0x01, 0xFF, 0xFF})),
       "TLV type 0x01 at byte 56 runs past"},
  };
}

TEST(ProxyProtocolParse, InvalidHeadersSayWhatIsWrong) {
  for (const auto& c : invalidHeaders()) {
    SCOPED_TRACE(c.name);
    const auto r = parse(c.bytes);
    ASSERT_EQ(r.status, Status::Invalid);
    EXPECT_THAT(r.error, testing::HasSubstr(c.error));
  }
}

TEST(ProxyProtocolParse, WrongFirstByteIsInvalidAtOnce) {
  for (int b = 0; b < 256; ++b) {
    const Bytes one = {static_cast<uint8_t>(b)};
    const auto r = parse(one);
    if (b == 'P' || b == 0x0D) {
      EXPECT_EQ(r.status, Status::Incomplete) << b;
    } else {
      EXPECT_EQ(r.status, Status::Invalid) << b;
    }
  }
}

TEST(ProxyProtocolParse, DecidesAsEarlyAsTheBytesAllow) {
  // Over-long v2: refused from the 16 fixed bytes, not after waiting for 2000 more.
  EXPECT_EQ(parse(v2(0x21, 0x11, {}, 2000)).status, Status::Invalid);
  // A v2 header whose length runs beyond the bytes received (but within the limit): waits.
  const Bytes partial = v2(0x21, 0x11, kInetBody, 100);
  EXPECT_EQ(parse(partial).status, Status::Incomplete);
  // v1: a bad protocol word is known before the line ends.
  EXPECT_EQ(parse(text("PROXY X")).status, Status::Invalid);
  EXPECT_EQ(parse(text("PROXY TCP5")).status, Status::Invalid);
  // ... but the addresses are judged only once the CRLF is there.
  EXPECT_EQ(parse(text("PROXY TCP4 999.1.1.1 ")).status, Status::Incomplete);
  // 106 bytes without CRLF may still end in one; 107 may not.
  const std::string body(92, 'a');
  EXPECT_EQ(parse(text("PROXY UNKNOWN " + body)).status, Status::Incomplete);      // 106
  EXPECT_EQ(parse(text("PROXY UNKNOWN " + body + "\r")).status, Status::Invalid);  // CR at 107
}

TEST(ProxyProtocolParse, ArbitraryBytesNeverReadOutOfBounds) {
  // Every v2 length from 0 to beyond the limit over a buffer holding only some of it: the
  // verdict is Incomplete, Invalid or Complete within the buffer (ASan checks the reads).
  for (uint8_t fam : {uint8_t{0x00}, uint8_t{0x11}, uint8_t{0x21}, uint8_t{0x31}}) {
    for (int length = 0; length <= 1100; length += 7) {
      Bytes h = v2(0x21, fam, Bytes(static_cast<size_t>(std::min(length, 300)), 0x01), length);
      const auto r = parse(h);
      if (r.status == Status::Complete) {
        EXPECT_LE(r.length, h.size());
      }
    }
  }
}

}  // namespace
}  // namespace edge::proxy_protocol
