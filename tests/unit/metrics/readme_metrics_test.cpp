// The README's metrics reference must name every metric of the one catalog (metrics/catalog.h):
// an operator writing a query reads the README, not the source.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "metrics/catalog.h"

namespace edge::metrics {
namespace {

std::string readReadme() {
  std::ifstream in(std::string(EDGE_SOURCE_DIR) + "/README.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// True when `name` occurs as a whole metric name ("edge_targets" does not count inside
// "edge_targets_total" or "edge_target_ejections_total").
bool mentions(const std::string& text, std::string_view name) {
  for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at + 1)) {
    const auto after = at + name.size();
    if ((at == 0 || !isNameChar(text[at - 1])) &&
        (after == text.size() || !isNameChar(text[after]))) {
      return true;
    }
  }
  return false;
}

TEST(ReadmeMetricsTest, MentionsEveryMetricOfTheCatalog) {
  const auto readme = readReadme();
  ASSERT_FALSE(readme.empty()) << "cannot read " << EDGE_SOURCE_DIR << "/README.md";
  for (const auto& spec : catalog()) {
    EXPECT_TRUE(mentions(readme, spec.name)) << "README.md does not mention " << spec.name;
  }
}

}  // namespace
}  // namespace edge::metrics
