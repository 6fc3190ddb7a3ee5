// AdminFixture: a ConfigFileFixture (so an EdgeFixture too) whose daemon serves the admin
// endpoint on a port the kernel picks (`--admin 127.0.0.1:0`, or `admin` in the file), with
// helpers to ask it. The port comes from the log line "admin endpoint on http://ADDR:PORT/".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config_file_fixture.h"
#include "http_client.h"

namespace edge::test {

inline const std::vector<std::string> kAdminAnyPort = {"--admin", "127.0.0.1:0"};

// The port in "admin endpoint on http://127.0.0.1:PORT/" among `lines`, or nullopt.
std::optional<std::uint16_t> admin_port_in(const std::vector<std::string>& lines);

// TCP ports `pid` has a listening socket on (its descriptors matched against /proc/net/tcp{,6}).
std::set<std::uint16_t> listening_ports(pid_t pid);

class AdminFixture : public ConfigFileFixture {
 protected:
  // The running daemon's admin port; fails the test (and returns 0) when it has none.
  std::uint16_t admin_port();
  HttpResponse get(const std::string& target);
  HttpResponse post(const std::string& target,
                    const std::map<std::string, std::string>& headers = {});
};

}  // namespace edge::test
