// FakeDns: a DNS server for one test that sends whatever bytes the test's handler returns,
// legal or not (dnsmasq refuses to serve most hostile answers). Builders below make the usual
// records; anything else (pointer loops, wrong counts, garbage) is a byte vector away.
//
// Listens on 127.0.0.1:<port> over UDP and TCP (same port: c-ares retries over TCP when a UDP
// reply has TC=1). One server thread calls the handler; the test owns the object, the
// destructor stops and joins the thread. Public members may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "unique_fd.h"

namespace edge::test {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeAaaa = 28;
inline constexpr std::uint16_t kTypeSrv = 33;
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassChaos = 3;

enum Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5
};

// A name as labels of raw bytes, so a label may hold a dot, a space or any byte.
struct DnsName {
  std::vector<std::string> labels;

  // Splits on dots; no escapes ("a.b.test" -> a, b, test).
  static DnsName of(std::string_view dotted);
  // Lower-case presentation form with bytes other than printable ASCII, dots and backslashes
  // written \DDD (as dig and the daemon's logs write them); no trailing dot.
  std::string text() const;
  Bytes wire() const;
};

struct DnsQuery {
  std::uint16_t id = 0;
  DnsName name{};
  std::uint16_t type = 0;
  std::uint16_t qclass = 0;
  bool tcp = false;
  Bytes raw{};
};

// One resource record; `owner` is raw wire bytes (a compression pointer such as {0xC0, 0x0C}
// is allowed), `rdata` is written as given, its length computed unless `rdlength` is set.
struct DnsRr {
  Bytes owner;
  std::uint16_t type = 0;
  std::uint16_t rr_class = kClassIn;
  std::uint32_t ttl = 1;
  Bytes rdata;
  int rdlength = -1;  // >= 0: written instead of rdata.size() (a lying length)
};

namespace rr {
DnsRr a(const DnsName& owner, const std::string& ipv4, std::uint32_t ttl = 1);
DnsRr aaaa(const DnsName& owner, const std::string& ipv6, std::uint32_t ttl = 1);
DnsRr cname(const DnsName& owner, const DnsName& target, std::uint32_t ttl = 1);
DnsRr srv(const DnsName& owner, std::uint16_t priority, std::uint16_t weight, std::uint16_t port,
          const DnsName& target, std::uint32_t ttl = 1);
}  // namespace rr

// A reply to `query`: same id and question, QR+AA+RD+RA, NOERROR, then what the test adds.
class DnsReply {
 public:
  explicit DnsReply(const DnsQuery& query);
  DnsReply& rcode(std::uint8_t value);
  DnsReply& truncated(bool value = true);
  DnsReply& answer(DnsRr record);
  DnsReply& authority(DnsRr record);
  DnsReply& additional(DnsRr record);
  Bytes bytes() const;

 private:
  std::uint16_t id_;
  std::uint16_t flags_ = 0x8580;  // QR AA RD RA
  Bytes question_;
  std::vector<DnsRr> sections_[3];
};

// Returns the reply's bytes; an empty vector sends nothing (a server that never answers).
using DnsHandler = std::function<Bytes(const DnsQuery&)>;

class FakeDns {
 public:
  explicit FakeDns(DnsHandler handler);  // listening on return; throws on failure
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>", the form --dns-server takes

  void set_handler(DnsHandler handler);
  // Queries received for `name` (DnsName::text() form) and `type`, over UDP and TCP.
  std::size_t queries(const std::string& name, std::uint16_t type) const;
  std::size_t queries_over_tcp() const { return tcp_queries_.load(); }
  // "name/type" of every query so far, for failure messages.
  std::string describe_queries() const;

 private:
  void serve();
  Bytes handle(const Bytes& message, bool tcp);

  UniqueFd udp_;
  UniqueFd tcp_;
  UniqueFd wake_;
  std::uint16_t port_ = 0;
  mutable std::mutex mutex_;
  DnsHandler handler_;                                                   // guarded by mutex_
  std::map<std::pair<std::string, std::uint16_t>, std::size_t> counts_;  // guarded by mutex_
  std::atomic<std::size_t> tcp_queries_{0};
  std::thread thread_;
};

}  // namespace edge::test
