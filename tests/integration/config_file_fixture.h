// ConfigFileFixture: an EdgeFixture whose daemon reads a --config file that the test writes (and
// rewrites, for reloads) in a directory of its own, readable by an unprivileged --user.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edge_fixture.h"

namespace edge::test {

class ConfigFileFixture : public EdgeFixture {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Writes the file (mode 0644) with `text` as its whole content.
  void write_file(const std::string& text);
  // A [[route]] table listening on 127.0.0.1:PORT; `extra`: more keys, one per line.
  static std::string route(const std::string& name, std::uint16_t port, const std::string& target,
                           const std::string& extra = "");
  // Starts the daemon on the file as it is (--config only, no default --listen).
  EdgeProcess& start_on_file();
  // One connection to 127.0.0.1:PORT: the backend's greeting, or "<connect failed>" /
  // "<no greeting>".
  static std::string greeting(std::uint16_t port);

  const std::string& dir() const { return dir_; }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

// Whether any line contains `text`.
bool has_line(const std::vector<std::string>& lines, const std::string& text);

}  // namespace edge::test
