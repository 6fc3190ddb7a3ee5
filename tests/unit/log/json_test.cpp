// JSON string escaping: any bytes give one valid JSON string on one line; valid UTF-8 survives.
#include "log/json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "log/connection_id.h"

namespace edge::log {
namespace {

using namespace std::chrono_literals;

std::string asJson(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

// Parses `s` as a JSON document holding one string; "<invalid>" if it is not one.
std::string parsed(const std::string& s) {
  try {
    const auto j = nlohmann::json::parse(s);
    return j.is_string() ? j.get<std::string>() : "<not a string>";
  } catch (const nlohmann::json::exception&) {
    return "<invalid>";
  }
}

TEST(JsonString, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(asJson(""), R"("")");
  EXPECT_EQ(asJson("plain text"), R"("plain text")");
  EXPECT_EQ(asJson("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(asJson("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(asJson(std::string_view("\0\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(asJson("/"), R"("/")");
}

TEST(JsonString, EverySingleByteGivesValidJson) {
  for (int b = 0; b < 256; ++b) {
    const std::string s(1, static_cast<char>(b));
    const auto json = asJson(s);
    EXPECT_EQ(json.find('\n'), std::string::npos) << b;
    const auto back = parsed(json);
    if (b < 0x80) {
      EXPECT_EQ(back, s) << "byte " << b << ": " << json;
    } else {
      EXPECT_EQ(back, "\xef\xbf\xbd") << "byte " << b << ": " << json;  // U+FFFD
    }
  }
}

TEST(JsonString, ValidUtf8PassesThroughAndInvalidBecomesReplacementCharacters) {
  const std::string valid =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xe2\x80\xa8";
  EXPECT_EQ(asJson(valid), "\"" + valid + "\"");
  EXPECT_EQ(parsed(asJson(valid)), valid);

  struct Case {
    std::string in;
    std::string want;  // after parsing
  };
  const std::string fffd = "\xef\xbf\xbd";
  const std::vector<Case> cases = {
      {"\x80", fffd},                                   // stray continuation byte
      {"\xc3", fffd},                                   // truncated
      {"\xc3x", fffd + "x"},                            // truncated, then ASCII
      {"\xc0\xaf", fffd + fffd},                        // overlong '/'
      {"\xe0\x80\xaf", fffd + fffd + fffd},             // overlong, 3 bytes
      {"\xed\xa0\x80", fffd + fffd + fffd},             // a surrogate (U+D800)
      {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd},  // past U+10FFFF
      {"\xf8\x88\x80\x80\x80", std::string() + fffd + fffd + fffd + fffd + fffd},
      {"\xff\xfe", fffd + fffd},
      {"ok\xe2\x82", "ok" + fffd + fffd},  // truncated at the end
  };
  for (const auto& c : cases) EXPECT_EQ(parsed(asJson(c.in)), c.want) << asJson(c.in);
}

// Random bytes, and random mixes of the troublesome ones: always one valid JSON string.
TEST(JsonString, RandomBytesAlwaysGiveValidJson) {
  std::mt19937 rng(12);
  const std::string tricky = std::string("\"\\\n\r\t\x7f", 6) + std::string(1, '\0') +
                             "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\xa0\x80\xff\x80";
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const size_t length = rng() % 64;
    for (size_t i = 0; i < length; ++i) {
      s += round % 2 ? static_cast<char>(rng() & 0xFF) : tricky[rng() % tricky.size()];
    }
    const auto json = asJson(s);
    ASSERT_NE(parsed(json), "<invalid>") << json;
    ASSERT_EQ(json.find('\n'), std::string::npos);
  }
}

TEST(JsonString, Utf8SequenceLength) {
  EXPECT_EQ(utf8SequenceLength(""), 0u);
  EXPECT_EQ(utf8SequenceLength("a"), 1u);
  EXPECT_EQ(utf8SequenceLength("\xc2\x80"), 2u);
  EXPECT_EQ(utf8SequenceLength("\xc1\xbf"), 0u);  // overlong
  EXPECT_EQ(utf8SequenceLength("\xef\xbf\xbf"), 3u);
  EXPECT_EQ(utf8SequenceLength("\xed\x9f\xbf"), 3u);  // U+D7FF: just below the surrogates
  EXPECT_EQ(utf8SequenceLength("\xed\xa0\x80"), 0u);
  EXPECT_EQ(utf8SequenceLength("\xf0\x90\x80\x80"), 4u);
  EXPECT_EQ(utf8SequenceLength("\xf0\x8f\xbf\xbf"), 0u);  // overlong
  EXPECT_EQ(utf8SequenceLength("\xf4\x8f\xbf\xbf"), 4u);  // U+10FFFF
}

TEST(JsonString, UtcTimestamp) {
  using namespace std::chrono;
  std::string out;
  appendUtcTimestamp(out, sys_days{year{2024} / March / 5} + 6h + 7min + 8s + 9ms + 999us);
  EXPECT_EQ(out, "2024-03-05T06:07:08.009Z");
}

TEST(ConnectionId, SixteenHexDigitsWithTheWorkerOnTop) {
  EXPECT_EQ(formatConnectionId(0), "0000000000000000");
  EXPECT_EQ(formatConnectionId(connectionIdBase(0) + 1), "0000000000000001");
  EXPECT_EQ(formatConnectionId(connectionIdBase(3) + 0xabc), "0003000000000abc");
  EXPECT_EQ(formatConnectionId(~uint64_t{0}), "ffffffffffffffff");
  EXPECT_EQ(ConnectionIdText(255).view(), "00000000000000ff");
}

}  // namespace
}  // namespace edge::log
