#pragma once
// The one list of every metric /metrics exposes: name, type, labels and help. The exposition
// writes them in this order and refuses a name that is not here; the README's metrics reference
// is checked against it by a test.

#include <span>
#include <string_view>

namespace edge::metrics {

enum class Type { Counter, Gauge, Histogram };

struct MetricSpec {
  std::string_view name;
  Type type;
  std::string_view labels;  // comma-separated, as documented; empty: none
  std::string_view help;
};

std::span<const MetricSpec> catalog();
// The spec named `name`, or nullptr.
const MetricSpec* findMetric(std::string_view name);
const char* toString(Type type);  // "counter", "gauge", "histogram"

}  // namespace edge::metrics
