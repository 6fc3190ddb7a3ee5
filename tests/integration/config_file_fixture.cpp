#include "config_file_fixture.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace edge::test {

void ConfigFileFixture::SetUp() {
  dir_ = ::testing::TempDir() + "edge-config-file.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
  ::chmod(dir_.c_str(), 0755);  // the file must stay readable after --user (README)
  path_ = dir_ + "/edge.toml";
}

void ConfigFileFixture::TearDown() {
  EdgeFixture::TearDown();
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void ConfigFileFixture::write_file(const std::string& text) {
  {
    std::ofstream out(path_, std::ios::trunc);
    out << text;
  }
  ::chmod(path_.c_str(), 0644);
}

std::string ConfigFileFixture::route(const std::string& name, std::uint16_t port,
                                     const std::string& target, const std::string& extra) {
  return "[[route]]\nname = \"" + name + "\"\nlisten = \"127.0.0.1:" + std::to_string(port) +
         "\"\ntarget = \"" + target + "\"\n" + extra + "\n";
}

EdgeProcess& ConfigFileFixture::start_on_file() {
  return start_edge_with({.args = {"--config", path_}, .default_listen = false});
}

std::string ConfigFileFixture::greeting(std::uint16_t port) {
  auto client = TcpClient::connect("127.0.0.1", port, kIoTimeout);
  if (!client) return "<connect failed>";
  return client->read_line(kIoTimeout).value_or("<no greeting>");
}

bool has_line(const std::vector<std::string>& lines, const std::string& text) {
  for (const auto& l : lines) {
    if (l.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace edge::test
