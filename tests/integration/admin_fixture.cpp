#include "admin_fixture.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace edge::test {

std::optional<std::uint16_t> admin_port_in(const std::vector<std::string>& lines) {
  constexpr std::string_view kMarker = "admin endpoint on http://";
  for (const auto& line : lines) {
    const auto at = line.find(kMarker);
    if (at == std::string::npos) continue;
    const auto slash = line.find('/', at + kMarker.size());
    const auto colon = line.rfind(':', slash);
    if (slash == std::string::npos || colon == std::string::npos || colon < at) continue;
    unsigned port = 0;
    const auto [ptr, ec] = std::from_chars(line.data() + colon + 1, line.data() + slash, port);
    if (ec == std::errc() && ptr == line.data() + slash && port > 0 && port <= 65535) {
      return static_cast<std::uint16_t>(port);
    }
  }
  return std::nullopt;
}

std::set<std::uint16_t> listening_ports(pid_t pid) {
  // The inodes of the process's sockets...
  std::set<std::string> inodes;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* dir = ::opendir(fd_dir.c_str())) {
    while (const dirent* entry = ::readdir(dir)) {
      char target[128] = {};
      const auto path = fd_dir + "/" + entry->d_name;
      const ssize_t n = ::readlink(path.c_str(), target, sizeof(target) - 1);
      const std::string link(target, n > 0 ? static_cast<size_t>(n) : 0);
      if (link.starts_with("socket:[")) inodes.insert(link.substr(8, link.size() - 9));
    }
    ::closedir(dir);
  }
  // ...among the TCP sockets in state LISTEN (0A) of its network namespace.
  std::set<std::uint16_t> ports;
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream in("/proc/" + std::to_string(pid) + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (state != "0A" || !inodes.contains(inode)) continue;
      const auto colon = local.rfind(':');
      ports.insert(static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16)));
    }
  }
  return ports;
}

std::uint16_t AdminFixture::admin_port() {
  const auto port = admin_port_in(edge().stderr_lines());
  EXPECT_TRUE(port) << "no \"admin endpoint on\" line in the daemon's log";
  return port.value_or(0);
}

HttpResponse AdminFixture::get(const std::string& target) {
  return http_get("127.0.0.1", admin_port(), target);
}

HttpResponse AdminFixture::post(const std::string& target,
                                const std::map<std::string, std::string>& headers) {
  return http_request("POST", "127.0.0.1", admin_port(), target, std::chrono::seconds(10), "",
                      headers);
}

}  // namespace edge::test
