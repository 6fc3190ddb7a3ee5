#pragma once
// Prometheus text exposition (format 0.0.4): samples are added in any order, grouped under
// their metric's HELP and TYPE lines in catalog order. Label values are escaped (they come from
// configuration and DNS). A name missing from the catalog is a programming error: it throws.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::metrics {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Exposition {
 public:
  Exposition();

  void add(std::string_view name, Labels labels, uint64_t value);
  void add(std::string_view name, Labels labels, double value);
  // A histogram from per-bucket (not cumulative) counts; `bounds` in seconds, `buckets` one
  // longer (the last is +Inf's own), `sum` in seconds.
  void histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                 std::span<const uint64_t> buckets, double sum);

  std::string text() const;

 private:
  std::string& linesOf(std::string_view name);
  static void appendSample(std::string& out, std::string_view name, Labels labels,
                           std::string_view extra_label, std::string_view extra_value,
                           std::string_view value);

  std::vector<std::string> lines_;  // by catalog index
};

// Escapes a label value: backslash, double quote and newline (the format's three).
std::string escapeLabel(std::string_view value);

}  // namespace edge::metrics
