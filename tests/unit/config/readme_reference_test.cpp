// The README's configuration reference must name every option of the one option table: its flag,
// its environment variable, its file key and its scope.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// The cells of a table row, trimmed: "| a | b |" gives {"a", "b"}. "\\|" inside a cell stays.
std::vector<std::string> cellsOf(const std::string& row) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '|' && row[i - 1] != '\\') {
      const auto first = cell.find_first_not_of(' ');
      const auto last = cell.find_last_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return cells;
}

TEST(ReadmeReferenceTest, EachRowStatesTheFileKeyAndScopeOfTheTable) {
  const auto readme = readReadme();
  ASSERT_NE(readme.find("| flag | env var | file key | scope | default | meaning |"),
            std::string::npos);
  for (const auto& spec : optionTable()) {
    const auto row = rowOf(readme, spec.flag);
    ASSERT_FALSE(row.empty()) << "README.md has no reference row for " << spec.flag;
    const auto cells = cellsOf(row);
    ASSERT_GE(cells.size(), 6u) << row;
    EXPECT_EQ(cells[1], "`" + std::string(spec.env) + "`") << row;
    const std::string key = spec.file_key.empty() ? "" : "`" + std::string(spec.file_key) + "`";
    EXPECT_EQ(cells[2], key) << "README.md's file key for " << spec.flag << ":\n" << row;
    EXPECT_EQ(cells[3], toString(spec.scope)) << "README.md's scope for " << spec.flag << ":\n"
                                              << row;
  }
}

TEST(ReadmeReferenceTest, RowCellsSplitOnUnescapedBarsOnly) {
  EXPECT_EQ(cellsOf("| `--type srv\\|a` | `X` | `type` | route |"),
            (std::vector<std::string>{"`--type srv\\|a`", "`X`", "`type`", "route"}));
}

TEST(ReadmeReferenceTest, WholeWordMatchOnly) {
  EXPECT_FALSE(mentions("use --target-port", "--target"));
  EXPECT_TRUE(mentions("use `--target NAME`", "--target"));
  EXPECT_FALSE(mentions("MY_TARGET_PORT", "TARGET_PORT"));
  EXPECT_TRUE(mentions("| `TARGET_PORT` |", "TARGET_PORT"));
}

}  // namespace
}  // namespace edge::config
