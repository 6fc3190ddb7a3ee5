// Duration options: "500ms", "5s", "2m", "1h", a bare number is seconds; "off"/"none"/"0" for
// optional ones.
#include "config/duration.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::config {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, Parse) {
  struct Case {
    std::string text;
    std::optional<Duration> want;
  };
  const std::vector<Case> cases = {
      {"500ms", 500ms},
      {"5s", 5s},
      {"2m", 2min},
      {"1h", 1h},
      {"7", 7s},
      {"0", 0ms},
      {"0ms", 0ms},
      {"1500ms", 1500ms},
      {"8760h", 8760h},  // a year: the largest any option accepts (options.cpp checks ranges)
      {"8761h", 8761h},
      {"", std::nullopt},
      {"ms", std::nullopt},
      {"s", std::nullopt},
      {"off", std::nullopt},
      {"garbage", std::nullopt},
      {"5x", std::nullopt},
      {"5sec", std::nullopt},
      {"1.5s", std::nullopt},
      {"-1", std::nullopt},
      {"+5s", std::nullopt},
      {" 5s", std::nullopt},
      {"5s ", std::nullopt},
      {"5 s", std::nullopt},
      {"1h30m", std::nullopt},
      // Too large to hold: the largest duration, so the range check can name the option's cap.
      {"99999999999h", 99999999999h},
      {"9999999999999h", Duration::max()},
      {"99999999999999999999999s", Duration::max()},  // does not fit in 64 bits at all
      {"18446744073709551615ms", Duration::max()},
      {"99999999999999999999999x", std::nullopt},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(parseDuration(text), want) << '"' << text << '"';
  }
}

TEST(DurationTest, ParseOptional) {
  using Inner = std::optional<Duration>;
  struct Case {
    std::string text;
    std::optional<Inner> want;  // outer nullopt: invalid; inner nullopt: off
  };
  const std::vector<Case> cases = {
      {"off", Inner{}},          {"none", Inner{}},      {"0", Inner{}},
      {"0s", Inner{}},           {"0ms", Inner{}},       {"500ms", Inner{500ms}},
      {"7", Inner{7s}},          {"1h", Inner{1h}},      {"", std::nullopt},
      {"garbage", std::nullopt}, {"offf", std::nullopt}, {"9999999999999h", Inner{Duration::max()}},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EQ(parseOptionalDuration(text), want) << '"' << text << '"';
  }
}

TEST(DurationTest, Format) {
  struct Case {
    std::optional<Duration> d;
    std::string want;
  };
  const std::vector<Case> cases = {
      {std::nullopt, "off"}, {0ms, "0s"},   {500ms, "500ms"},   {1500ms, "1500ms"}, {5s, "5s"},
      {2min, "120s"},        {1h, "3600s"}, {1001ms, "1001ms"},
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(formatDuration(d), want);
}

TEST(DurationTest, FormatParsesBack) {
  for (const Duration d : std::initializer_list<Duration>{0ms, 1ms, 999ms, 1s, 1500ms, 30s, 1h}) {
    EXPECT_EQ(parseDuration(formatDuration(d)), d) << d.count();
  }
}

}  // namespace
}  // namespace edge::config
