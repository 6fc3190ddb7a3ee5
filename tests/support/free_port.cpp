#include "free_port.h"

#include <sys/socket.h>

#include <mutex>
#include <set>
#include <stdexcept>

#include "socket_util.h"
#include "unique_fd.h"

namespace edge::test {
namespace {

bool bind_to(int fd, const std::string& address, std::uint16_t port) {
  const sockaddr_in sa = ipv4_address(address, port);
  return ::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) == 0;
}

}  // namespace

std::uint16_t free_port(const std::string& address) {
  // Never the same port twice in one test process: a test that takes several ports before
  // binding any of them must get distinct ones (the kernel may hand out a port it just handed).
  static std::mutex mutex;
  static std::set<std::uint16_t> handed;
  constexpr int kTries = 50;  // a clash with UDP is rare; give up loudly rather than loop
  for (int i = 0; i < kTries; ++i) {
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!tcp.valid() || !udp.valid()) throw_errno("socket");
    if (!bind_to(tcp.get(), address, 0)) throw_errno("bind " + address + ":0");
    const std::uint16_t port = local_port(tcp.get());
    if (!bind_to(udp.get(), address, port)) continue;
    std::lock_guard lock(mutex);
    if (handed.insert(port).second) return port;
  }
  throw std::runtime_error("no port free for both TCP and UDP on " + address);
}

}  // namespace edge::test
