#include "dns_query.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <random>
#include <stdexcept>
#include <vector>

#include "socket_util.h"
#include "unique_fd.h"

namespace edge::test {
namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

std::vector<std::uint8_t> build_query(std::uint16_t id, const std::string& name,
                                      std::uint16_t qtype) {
  std::vector<std::uint8_t> q;
  put16(q, id);
  put16(q, 0x0100);  // RD
  put16(q, 1);       // QDCOUNT
  put16(q, 0);
  put16(q, 0);
  put16(q, 0);
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const std::size_t length = dot - start;
    if (length == 0 || length > 63) throw std::invalid_argument("bad DNS name: " + name);
    q.push_back(static_cast<std::uint8_t>(length));
    q.insert(q.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
             name.begin() + static_cast<std::ptrdiff_t>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  put16(q, qtype);
  put16(q, 1);  // IN
  return q;
}

}  // namespace

std::optional<int> dns_rcode(const std::string& server, std::uint16_t port, const std::string& name,
                             std::uint16_t qtype, std::chrono::milliseconds timeout) {
  static thread_local std::mt19937 random{std::random_device{}()};
  const auto id = static_cast<std::uint16_t>(random());
  const std::vector<std::uint8_t> query = build_query(id, name, qtype);
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw_errno("socket");
  const sockaddr_in to = ipv4_address(server, port);
  if (::sendto(fd.get(), query.data(), query.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof(to)) < 0) {
    return std::nullopt;
  }
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (int datagrams = 0; datagrams < 16; ++datagrams) {  // bounded: stray datagrams are skipped
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    std::uint8_t reply[1500];
    const ssize_t n = ::recv(fd.get(), reply, sizeof(reply), 0);
    if (n < 12) continue;
    const auto reply_id = static_cast<std::uint16_t>(reply[0] << 8 | reply[1]);
    const bool is_response = (reply[2] & 0x80) != 0;
    if (reply_id == id && is_response) return reply[3] & 0x0f;
  }
  return std::nullopt;
}

}  // namespace edge::test
