// Small socket helpers shared by the support library: loopback addresses and error text.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>

namespace edge::test {

// IPv4 socket address for a dotted-quad literal; throws std::invalid_argument otherwise.
sockaddr_in ipv4_address(const std::string& address, std::uint16_t port);

// The port a bound socket got (e.g. after binding port 0).
std::uint16_t local_port(int fd);

// Segments a TCP socket has sent so far, data, FIN and ACK alike (TCP_INFO tcpi_segs_out).
std::uint32_t segments_sent(int fd);

// Throws std::system_error(errno) with `what` as context.
[[noreturn]] void throw_errno(const std::string& what);

}  // namespace edge::test
