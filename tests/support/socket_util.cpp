#include "socket_util.h"

#include <arpa/inet.h>
#include <linux/tcp.h>  // tcp_info with tcpi_segs_out (glibc's netinet/tcp.h lacks it)
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace edge::test {

sockaddr_in ipv4_address(const std::string& address, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1) {
    throw std::invalid_argument("not an IPv4 literal: " + address);
  }
  return sa;
}

std::uint32_t segments_sent(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) throw_errno("TCP_INFO");
  return info.tcpi_segs_out;
}

std::uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) throw_errno("getsockname");
  return ntohs(sa.sin_port);
}

void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace edge::test
