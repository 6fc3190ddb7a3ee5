#include "metrics/exposition.h"

#include <fmt/format.h>

#include <stdexcept>

#include "metrics/catalog.h"

namespace edge::metrics {

std::string escapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Exposition::Exposition() : lines_(catalog().size()) {}

std::string& Exposition::linesOf(std::string_view name) {
  const auto* spec = findMetric(name);
  if (!spec) throw std::logic_error("metric not in the catalog: " + std::string(name));
  return lines_[static_cast<size_t>(spec - catalog().data())];
}

void Exposition::appendSample(std::string& out, std::string_view name, Labels labels,
                              std::string_view extra_label, std::string_view extra_value,
                              std::string_view value) {
  out += name;
  bool first = true;
  auto label = [&](std::string_view key, std::string_view text) {
    out += first ? '{' : ',';
    first = false;
    out += key;
    out += "=\"";
    out += escapeLabel(text);
    out += '"';
  };
  for (const auto& [key, text] : labels) label(key, text);
  if (!extra_label.empty()) label(extra_label, extra_value);
  if (!first) out += '}';
  out += ' ';
  out += value;
  out += '\n';
}

void Exposition::add(std::string_view name, Labels labels, uint64_t value) {
  appendSample(linesOf(name), name, labels, {}, {}, std::to_string(value));
}

void Exposition::add(std::string_view name, Labels labels, double value) {
  appendSample(linesOf(name), name, labels, {}, {}, fmt::format("{}", value));
}

void Exposition::histogram(std::string_view name, Labels labels, std::span<const double> bounds,
                           std::span<const uint64_t> buckets, double sum) {
  auto& out = linesOf(name);
  const std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += buckets[i];
    appendSample(out, bucket_name, labels, "le", fmt::format("{}", bounds[i]),
                 std::to_string(cumulative));
  }
  cumulative += buckets[bounds.size()];
  appendSample(out, bucket_name, labels, "le", "+Inf", std::to_string(cumulative));
  appendSample(out, std::string(name) + "_sum", labels, {}, {}, fmt::format("{}", sum));
  appendSample(out, std::string(name) + "_count", labels, {}, {}, std::to_string(cumulative));
}

std::string Exposition::text() const {
  std::string out;
  const auto specs = catalog();
  for (size_t i = 0; i < specs.size(); ++i) {
    const auto& spec = specs[i];
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", spec.name, spec.help,
                   spec.name, toString(spec.type));
    out += lines_[i];
  }
  return out;
}

}  // namespace edge::metrics
