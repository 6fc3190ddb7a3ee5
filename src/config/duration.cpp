#include "config/duration.h"

#include <charconv>
#include <cstdint>

namespace edge::config {

std::optional<Duration> parseDuration(std::string_view text) {
  uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr == text.data() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return std::nullopt;
  }
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  uint64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else {
    return std::nullopt;
  }
  // Too large to hold: the largest duration, so that the option's range check names its cap.
  constexpr auto kMax = static_cast<uint64_t>(Duration::max().count());
  if (ec == std::errc::result_out_of_range || value > kMax / ms_per_unit) return Duration::max();
  return Duration(static_cast<Duration::rep>(value * ms_per_unit));
}

std::optional<std::optional<Duration>> parseOptionalDuration(std::string_view text) {
  if (text == "off" || text == "none") return std::optional<Duration>{};
  auto d = parseDuration(text);
  if (!d) return std::nullopt;
  if (d->count() == 0) return std::optional<Duration>{};
  return std::optional<Duration>{*d};
}

std::string formatDuration(std::optional<Duration> d) {
  if (!d) return "off";
  const auto ms = d->count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace edge::config
