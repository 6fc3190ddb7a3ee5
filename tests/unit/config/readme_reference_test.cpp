// The README's configuration reference must name every option of the one option table: its flag
// and its environment variable.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "config/options.h"

namespace edge::config {
namespace {

std::string readReadme() {
  std::ifstream in(std::string(EDGE_SOURCE_DIR) + "/README.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool isWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// True when `word` occurs as a whole word ("--target" does not count inside "--target-port").
bool mentions(const std::string& text, std::string_view word) {
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !isWordChar(text[at - 1]) || word.front() == '-';
    const auto after = at + word.size();
    const bool ends = after == text.size() || !isWordChar(text[after]);
    if (starts && ends) return true;
  }
  return false;
}

TEST(ReadmeReferenceTest, MentionsEveryFlagAndEnvVar) {
  const auto readme = readReadme();
  ASSERT_FALSE(readme.empty()) << "cannot read " << EDGE_SOURCE_DIR << "/README.md";
  for (const auto& spec : optionTable()) {
    EXPECT_TRUE(mentions(readme, spec.flag)) << "README.md does not mention " << spec.flag;
    EXPECT_TRUE(mentions(readme, spec.env)) << "README.md does not mention " << spec.env;
  }
}

// The reference row of an option: the table line starting "| `--flag".
std::string rowOf(const std::string& readme, std::string_view flag) {
  const auto start = readme.find("| `" + std::string(flag) + " ");
  if (start == std::string::npos) return "";
  return readme.substr(start, readme.find('\n', start) - start);
}

TEST(ReadmeReferenceTest, EachRowStatesTheRangeTheLoaderChecks) {
  const auto readme = readReadme();
  for (const auto& spec : optionTable()) {
    const auto row = rowOf(readme, spec.flag);
    ASSERT_FALSE(row.empty()) << "README.md has no reference row for " << spec.flag;
    const auto range = rangeText(spec);
    if (range.empty()) continue;
    EXPECT_NE(row.find(range), std::string::npos)
        << "README.md's row for " << spec.flag << " does not say " << range << ":\n"
        << row;
  }
}

TEST(ReadmeReferenceTest, WholeWordMatchOnly) {
  EXPECT_FALSE(mentions("use --target-port", "--target"));
  EXPECT_TRUE(mentions("use `--target NAME`", "--target"));
  EXPECT_FALSE(mentions("MY_TARGET_PORT", "TARGET_PORT"));
  EXPECT_TRUE(mentions("| `TARGET_PORT` |", "TARGET_PORT"));
}

}  // namespace
}  // namespace edge::config
