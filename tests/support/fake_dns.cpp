#include "fake_dns.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <list>
#include <stdexcept>

#include "socket_util.h"

namespace edge::test {
namespace {

void put16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

void put32(Bytes& out, std::uint32_t value) {
  put16(out, static_cast<std::uint16_t>(value >> 16));
  put16(out, static_cast<std::uint16_t>(value & 0xffff));
}

std::uint16_t get16(const Bytes& m, std::size_t at) {
  return static_cast<std::uint16_t>((m[at] << 8) | m[at + 1]);
}

// The question of a query (uncompressed, as every resolver sends it); false if malformed.
bool parse_query(const Bytes& m, DnsQuery& query, std::size_t& question_end) {
  if (m.size() < 12 || get16(m, 4) != 1) return false;
  query.id = get16(m, 0);
  std::size_t pos = 12;
  while (true) {
    if (pos >= m.size()) return false;
    const std::uint8_t length = m[pos];
    if (length == 0) break;
    if (length > 63 || pos + 1 + length > m.size()) return false;
    query.name.labels.emplace_back(reinterpret_cast<const char*>(&m[pos + 1]), length);
    pos += 1 + length;
  }
  if (pos + 5 > m.size()) return false;
  query.type = get16(m, pos + 1);
  query.qclass = get16(m, pos + 3);
  question_end = pos + 5;
  return true;
}

Bytes address_bytes(int family, const std::string& text) {
  Bytes out(family == AF_INET ? 4 : 16);
  if (::inet_pton(family, text.c_str(), out.data()) != 1) {
    throw std::invalid_argument("not an address: " + text);
  }
  return out;
}

}  // namespace

DnsName DnsName::of(std::string_view dotted) {
  DnsName name;
  std::size_t start = 0;
  while (start < dotted.size()) {
    std::size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    name.labels.emplace_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
  return name;
}

std::string DnsName::text() const {
  std::string out;
  for (const auto& label : labels) {
    if (!out.empty()) out += '.';
    for (unsigned char c : label) {
      if (c > 0x20 && c < 0x7f && c != '.' && c != '"' && c != '\\') {
        out += static_cast<char>(std::tolower(c));
      } else {
        out += '\\';
        out += static_cast<char>('0' + c / 100);
        out += static_cast<char>('0' + c / 10 % 10);
        out += static_cast<char>('0' + c % 10);
      }
    }
  }
  return out;
}

Bytes DnsName::wire() const {
  Bytes out;
  for (const auto& label : labels) {
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
  }
  out.push_back(0);
  return out;
}

namespace rr {

DnsRr a(const DnsName& owner, const std::string& ipv4, std::uint32_t ttl) {
  return {owner.wire(), kTypeA, kClassIn, ttl, address_bytes(AF_INET, ipv4)};
}

DnsRr aaaa(const DnsName& owner, const std::string& ipv6, std::uint32_t ttl) {
  return {owner.wire(), kTypeAaaa, kClassIn, ttl, address_bytes(AF_INET6, ipv6)};
}

DnsRr cname(const DnsName& owner, const DnsName& target, std::uint32_t ttl) {
  return {owner.wire(), kTypeCname, kClassIn, ttl, target.wire()};
}

DnsRr srv(const DnsName& owner, std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
          const DnsName& target, std::uint32_t ttl) {
  Bytes rdata;
  put16(rdata, priority);
  put16(rdata, weight);
  put16(rdata, port);
  const Bytes name = target.wire();
  rdata.insert(rdata.end(), name.begin(), name.end());
  return {owner.wire(), kTypeSrv, kClassIn, ttl, std::move(rdata)};
}

}  // namespace rr

DnsReply::DnsReply(const DnsQuery& query) : id_(query.id) {
  question_ = query.name.wire();
  put16(question_, query.type);
  put16(question_, query.qclass);
}

DnsReply& DnsReply::rcode(std::uint8_t value) {
  flags_ = static_cast<std::uint16_t>((flags_ & ~0x000F) | (value & 0x0F));
  return *this;
}

DnsReply& DnsReply::truncated(bool value) {
  flags_ = static_cast<std::uint16_t>(value ? flags_ | 0x0200 : flags_ & ~0x0200);
  return *this;
}

DnsReply& DnsReply::answer(DnsRr record) {
  sections_[0].push_back(std::move(record));
  return *this;
}

DnsReply& DnsReply::authority(DnsRr record) {
  sections_[1].push_back(std::move(record));
  return *this;
}

DnsReply& DnsReply::additional(DnsRr record) {
  sections_[2].push_back(std::move(record));
  return *this;
}

Bytes DnsReply::bytes() const {
  Bytes out;
  put16(out, id_);
  put16(out, flags_);
  put16(out, 1);
  for (const auto& section : sections_) put16(out, static_cast<std::uint16_t>(section.size()));
  out.insert(out.end(), question_.begin(), question_.end());
  for (const auto& section : sections_) {
    for (const auto& r : section) {
      out.insert(out.end(), r.owner.begin(), r.owner.end());
      put16(out, r.type);
      put16(out, r.rr_class);
      put32(out, r.ttl);
      put16(out, static_cast<std::uint16_t>(r.rdlength >= 0 ? r.rdlength : r.rdata.size()));
      out.insert(out.end(), r.rdata.begin(), r.rdata.end());
    }
  }
  return out;
}

FakeDns::FakeDns(DnsHandler handler) : handler_(std::move(handler)) {
  // UDP first (port 0), then TCP on the same port; another process may hold that TCP port.
  for (int attempt = 0; attempt < 20 && !tcp_.valid(); ++attempt) {
    udp_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_in address = ipv4_address("127.0.0.1", 0);
    if (!udp_.valid() ||
        ::bind(udp_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      throw_errno("fake DNS: UDP bind");
    }
    port_ = local_port(udp_.get());
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    const int one = 1;
    ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    address = ipv4_address("127.0.0.1", port_);
    if (::bind(tcp.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(tcp.get(), 16) == 0) {
      tcp_ = std::move(tcp);
    }
  }
  if (!tcp_.valid()) throw std::runtime_error("fake DNS: no port free for both UDP and TCP");
  wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) throw_errno("fake DNS: eventfd");
  thread_ = std::thread([this] { serve(); });
}

FakeDns::~FakeDns() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

std::string FakeDns::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void FakeDns::set_handler(DnsHandler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

std::size_t FakeDns::queries(const std::string& name, std::uint16_t type) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find({name, type});
  return it == counts_.end() ? 0 : it->second;
}

std::string FakeDns::describe_queries() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [key, count] : counts_) {
    out += (out.empty() ? "" : " ") + key.first + "/" + std::to_string(key.second) + "=" +
           std::to_string(count);
  }
  return out.empty() ? "(none)" : out;
}

Bytes FakeDns::handle(const Bytes& message, bool tcp) {
  DnsQuery query;
  std::size_t question_end = 0;
  if (!parse_query(message, query, question_end)) return {};
  query.tcp = tcp;
  query.raw = message;
  DnsHandler handler;
  {
    std::lock_guard lock(mutex_);
    ++counts_[{query.name.text(), query.type}];
    handler = handler_;
  }
  if (tcp) ++tcp_queries_;
  return handler ? handler(query) : Bytes{};
}

void FakeDns::serve() {
  struct Connection {
    UniqueFd fd;
    Bytes in;
  };
  std::list<Connection> connections;
  Bytes buffer(65536);
  while (true) {
    std::vector<pollfd> fds = {
        {wake_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
    for (const auto& c : connections) fds.push_back({c.fd.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents != 0) return;
    if (fds[1].revents != 0) {
      sockaddr_storage from{};
      socklen_t from_length = sizeof from;
      const ssize_t n = ::recvfrom(udp_.get(), buffer.data(), buffer.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_length);
      if (n > 0) {
        const Bytes reply = handle(Bytes(buffer.begin(), buffer.begin() + n), false);
        if (!reply.empty()) {
          ::sendto(udp_.get(), reply.data(), reply.size(), 0,
                   reinterpret_cast<const sockaddr*>(&from), from_length);
        }
      }
    }
    if (fds[2].revents != 0) {
      UniqueFd fd(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (fd.valid()) connections.push_back({std::move(fd), {}});
    }
    std::size_t index = 3;
    for (auto it = connections.begin(); it != connections.end(); ++index) {
      if (fds.size() <= index || fds[index].revents == 0) {
        ++it;
        continue;
      }
      const ssize_t n = ::recv(it->fd.get(), buffer.data(), buffer.size(), 0);
      if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
        it = connections.erase(it);
        continue;
      }
      if (n > 0) it->in.insert(it->in.end(), buffer.begin(), buffer.begin() + n);
      // Length-prefixed messages (RFC 1035 4.2.2); several may arrive in one read.
      while (it->in.size() >= 2 && it->in.size() >= 2u + get16(it->in, 0)) {
        const std::size_t length = get16(it->in, 0);
        const Bytes message(it->in.begin() + 2, it->in.begin() + 2 + length);
        it->in.erase(it->in.begin(), it->in.begin() + 2 + length);
        Bytes reply = handle(message, true);
        if (reply.empty()) continue;
        Bytes framed;
        put16(framed, static_cast<std::uint16_t>(std::min<std::size_t>(reply.size(), 65535)));
        framed.insert(framed.end(), reply.begin(), reply.end());
        // Replies are small next to the socket buffer: a short write only drops a test reply.
        [[maybe_unused]] auto sent =
            ::send(it->fd.get(), framed.data(), framed.size(), MSG_NOSIGNAL);
      }
      ++it;
    }
  }
}

}  // namespace edge::test
