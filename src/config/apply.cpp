#include "config/apply.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "balance/policy.h"
#include "config/dns_name.h"
#include "config/duration.h"
#include "config/error_line.h"
#include "net/cidr.h"
#include "net/endpoint.h"

namespace edge::config {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

constexpr size_t kMaxExpectBytes = 256;

void applyListen(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  auto hp = net::parseHostPort(text, /*allow_bare_port=*/true, /*min_port=*/0);
  if (!hp || !hp->port) {
    v.fail(raw, text, "is not [ADDR:]PORT (ADDR an IP address, PORT 0-65535)");
    return;
  }
  // asio turns an interface name it cannot find into scope 0: bind() would then fail (exit 1).
  if (text.find('%') != std::string::npos && hp->address && hp->address->is_v6() &&
      hp->address->to_v6().scope_id() == 0) {
    v.fail(raw, text, "names an interface (after %) that does not exist");
    return;
  }
  cfg.listen_address = hp->address;
  cfg.listen_port = *hp->port;
}

void applyType(const Raw& raw, Route& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "srv") {
    cfg.type = RecordType::Srv;
  } else if (text == "a") {
    cfg.type = RecordType::A;
  } else if (text == "aaaa") {
    cfg.type = RecordType::Aaaa;
  } else {
    v.fail(raw, raw.values.back(), "is not a record type (srv, a or aaaa)");
  }
}

// Why a resolver at `address` could never answer, or nullopt.
std::optional<std::string> resolverProblem(std::string_view text, asio::ip::address address,
                                           uint16_t port) {
  if (text.find('%') != std::string_view::npos) {
    // c-ares 1.18's server list (ares_set_servers_ports_csv, ares_addr_port_node) has no scope
    // id: it refuses the text, and without the scope a link-local resolver is unreachable.
    return "has a scope id: link-local resolvers are not supported (c-ares 1.18 cannot reach "
           "them)";
  }
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_unspecified()) {
    return "is the unspecified address: replies would come from another address and never "
           "match";
  }
  if (address.is_multicast()) return "is a multicast address, not a resolver";
  if (address.is_v4() && address.to_v4() == asio::ip::address_v4::broadcast()) {
    return "is the broadcast address, not a resolver";
  }
  if (address.is_v6() && address.to_v6().is_link_local()) {
    return "is link-local: link-local resolvers are not supported (c-ares 1.18 has no scope id "
           "for them)";
  }
  if (port == 0) return "has port 0 (PORT 1-65535)";
  return std::nullopt;
}

void applyDnsServers(const Raw& raw, Config& cfg, Validator& v) {
  if (raw.values.empty() && raw.file) {
    cfg.dns_servers.clear();  // `dns_servers = []`: /etc/resolv.conf, as `check` writes it
    return;
  }
  if (raw.values.empty()) {
    // Only an env var of commas and blanks gets here: it must not silently mean "system".
    v.fail(raw, raw.env_text,
           "lists no server (unset it, or leave it empty, for /etc/resolv.conf)");
    return;
  }
  std::vector<std::string> servers;
  for (const auto& text : raw.values) {
    auto hp = net::parseHostPort(text, /*allow_bare_port=*/false, /*min_port=*/0);
    if (!hp || !hp->address) {
      v.fail(raw, text, "is not IP[:PORT] (the resolver must be an IP address)");
      continue;
    }
    const uint16_t port = hp->port.value_or(53);
    if (auto why = resolverProblem(text, *hp->address, port)) {
      v.fail(raw, text, *why);
      continue;
    }
    servers.push_back(net::format(net::Endpoint(*hp->address, port)));
  }
  // A later source replaces the list of an earlier one (env over file), never extends it.
  if (servers.size() == raw.values.size()) cfg.dns_servers = std::move(servers);
}

void applyTarget(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (auto why = dnsNameProblem(text)) {
    v.fail(raw, text, *why);
    return;
  }
  cfg.target = text;
}

// A whole number in the option's range, or nullopt after reporting the problem.
std::optional<int> number(const Raw& raw, Validator& v) {
  const auto& text = raw.values.back();
  const auto& spec = *raw.spec;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < spec.min || n > spec.max) {
    v.fail(raw, text,
           "is not a number from " + std::to_string(spec.min) + " to " + std::to_string(spec.max));
    return std::nullopt;
  }
  return static_cast<int>(n);
}

// "64k", "1m", "65536" (bytes), or "off"/"0" for no splice.
void applyPipeSize(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "off" || text == "0") {
    cfg.pipe_size = 0;
    return;
  }
  const auto& spec = *raw.spec;
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view suffix(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  const uint64_t unit = suffix.empty() ? 1 : suffix == "k" ? 1024 : suffix == "m" ? 1024 * 1024 : 0;
  const auto max = static_cast<uint64_t>(spec.max);
  if (ec != std::errc() || ptr == text.data() || unit == 0 || n > max ||
      n * unit < static_cast<uint64_t>(spec.min) || n * unit > max) {
    const auto range = rangeText(spec);
    v.fail(raw, raw.values.back(),
           "is not a size from " + range.substr(0, range.find('-')) + " to " +
               range.substr(range.find('-') + 1) + " (or off)");
    return;
  }
  cfg.pipe_size = n * unit;
}

// The daemon writes a temporary file next to it and renames it over: the directory must exist
// (checked now: a typo should stop start-up, not warn on every change). Whether it is writable
// is only learnt by writing; a failure then is a warning, never a reason to stop serving.
void applyStateFile(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (text.empty()) {
    v.fail(raw, text, "is empty (leave it out to keep no state file)");
    return;
  }
  struct stat st {};
  if (::stat(text.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    v.fail(raw, text, "is a directory (give a file path inside it)");
    return;
  }
  const auto slash = text.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : text.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    v.fail(raw, text, "is in a directory that does not exist (" + dir + ")");
    return;
  }
  cfg.state_file = text;
}

void applyLogLevel(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find_if(std::begin(kLevels), std::end(kLevels),
                   [&](const char* l) { return text == l; }) == std::end(kLevels)) {
    v.fail(raw, raw.values.back(), "is not a log level (trace, debug, info, warn, error, off)");
    return;
  }
  cfg.log_level = text;
}

void applyLogFormat(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "text") {
    cfg.log_format = LogFormat::Text;
  } else if (text == "json") {
    cfg.log_format = LogFormat::Json;
  } else {
    v.fail(raw, raw.values.back(), "is not a log format (text or json)");
  }
}

// "open,progress,close" in any order and subset, or "off"/"none".
void applyAccessLog(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  AccessLogEvents events{false, false, false};
  if (text != "off" && text != "none") {
    size_t start = 0;
    while (start <= text.size()) {
      const auto comma = std::min(text.find(',', start), text.size());
      const auto word = std::string_view(text).substr(start, comma - start);
      if (word == "open") {
        events.open = true;
      } else if (word == "progress") {
        events.progress = true;
      } else if (word == "close") {
        events.close = true;
      } else {
        v.fail(raw, raw.values.back(),
               "is not a list of access-log events (open, progress, close) or off");
        return;
      }
      start = comma + 1;
    }
  }
  cfg.access_log = events;
}

// ADDR:PORT with an IP address, or "off".
void applyAdmin(const Raw& raw, Config& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (lower(text) == "off") {
    cfg.admin.reset();
    cfg.admin_explicit = true;
    return;
  }
  auto hp = net::parseHostPort(text, /*allow_bare_port=*/false, /*min_port=*/0);
  if (!hp || !hp->address || !hp->port) {
    v.fail(raw, text, "is not ADDR:PORT (ADDR an IP address, PORT 0-65535) or off");
    return;
  }
  cfg.admin = asio::ip::tcp::endpoint(*hp->address, *hp->port);
  cfg.admin_explicit = true;
}

void applySendProxy(const Raw& raw, Route& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "off") {
    cfg.send_proxy = ProxyProtocol::Off;
  } else if (text == "v1") {
    cfg.send_proxy = ProxyProtocol::V1;
  } else if (text == "v2") {
    cfg.send_proxy = ProxyProtocol::V2;
  } else {
    v.fail(raw, raw.values.back(), "is not a PROXY protocol version (off, v1 or v2)");
  }
}

// on/off (also true/false, yes/no, 1/0: env vars are written every way).
std::optional<bool> onOff(const Raw& raw, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "on" || text == "true" || text == "yes" || text == "1") return true;
  if (text == "off" || text == "false" || text == "no" || text == "0") return false;
  v.fail(raw, raw.values.back(), "is not on or off");
  return std::nullopt;
}

// A list of ranges; a later source replaces an earlier one's list (env over file).
std::optional<std::vector<net::Cidr>> cidrList(const Raw& raw, Validator& v) {
  std::vector<net::Cidr> list;
  bool ok = true;
  for (const auto& text : raw.values) {
    std::string why;
    if (auto cidr = net::Cidr::parse(text, &why)) {
      list.push_back(*cidr);
    } else {
      const bool typo = why.starts_with("has bits set");  // `why` names the network meant
      v.fail(raw, text, typo ? why : why + ", e.g. 10.0.0.0/8, 192.0.2.7, 2001:db8::/32");
      ok = false;
    }
  }
  if (raw.values.empty()) {
    v.fail(raw, raw.env_text, "lists no range (leave it out instead)");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return list;
}

// "5/s", "300/m", "10/h", or "off".
void applyRateLimit(const Raw& raw, Route& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "off") {
    cfg.rate_limit.reset();
    return;
  }
  const auto slash = text.find('/');
  const auto unit =
      slash == std::string::npos ? std::string_view() : std::string_view(text).substr(slash + 1);
  const Duration period = unit == "s"   ? Duration(1000)
                          : unit == "m" ? Duration(60'000)
                          : unit == "h" ? Duration(3'600'000)
                                        : Duration(0);
  uint32_t count = 0;
  const auto digits = std::string_view(text).substr(0, slash);
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (period.count() == 0 || digits.empty() || ec != std::errc() ||
      ptr != digits.data() + digits.size() || count < 1 || count > 1'000'000) {
    v.fail(raw, raw.values.back(),
           "is not a rate N/s, N/m or N/h (N from 1 to 1000000), e.g. 5/s, or off");
    return;
  }
  cfg.rate_limit = RateLimit{count, period};
}

// Literal text (no escapes): greetings worth checking are printable ("SSH-2.0-", "220 ", "+OK").
void applyHealthCheckExpect(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (text.empty()) {
    v.fail(raw, text, "is empty (leave it out to check the connect alone)");
  } else if (text.size() > kMaxExpectBytes) {
    v.fail(raw, text,
           "is longer than " + std::to_string(kMaxExpectBytes) + " bytes (a greeting's start)");
  } else {
    cfg.health_check_expect = text;
  }
}

// Names, users and paths: any text but the empty one (a flag or env var cannot be empty; a file
// string can).
std::optional<std::string> nonEmptyText(const Raw& raw, Validator& v) {
  const auto& text = raw.values.back();
  if (text.empty()) {
    v.fail(raw, text, "is empty (leave it out instead)");
    return std::nullopt;
  }
  return text;
}

// Applies one given option; every branch validates its own value.
void applyOne(const Raw& raw, Config& cfg, Route& route, Validator& v) {
  const auto flag = raw.spec->flag;
  if (flag == "--listen") {
    applyListen(raw, route, v);
  } else if (flag == "--target") {
    applyTarget(raw, route, v);
  } else if (flag == "--type") {
    applyType(raw, route, v);
  } else if (flag == "--target-port") {
    if (auto p = v.port(raw)) route.target_port = p;
  } else if (flag == "--port-override") {
    if (auto p = v.port(raw)) route.port_override = p;
  } else if (flag == "--dns-server") {
    applyDnsServers(raw, cfg, v);
  } else if (flag == "--min-refresh") {
    if (auto d = v.duration(raw, false)) route.min_refresh = **d;
  } else if (flag == "--max-refresh") {
    if (auto d = v.duration(raw, false)) route.max_refresh = **d;
  } else if (flag == "--max-stale") {
    if (auto d = v.duration(raw, true)) route.max_stale = *d;
  } else if (flag == "--state-file") {
    applyStateFile(raw, route, v);
  } else if (flag == "--connect-timeout") {
    if (auto d = v.duration(raw, false)) route.connect_timeout = **d;
  } else if (flag == "--connect-retries") {
    if (auto n = number(raw, v)) route.connect_retries = *n;
  } else if (flag == "--refused-backoff") {
    if (auto d = v.duration(raw, false)) route.refused_backoff = **d;
  } else if (flag == "--eject-max") {
    if (auto d = v.duration(raw, false)) route.eject_max = **d;
  } else if (flag == "--health-check-interval") {
    if (auto d = v.duration(raw, true)) route.health_check_interval = *d;
  } else if (flag == "--health-check-timeout") {
    if (auto d = v.duration(raw, false)) route.health_check_timeout = **d;
  } else if (flag == "--health-check-expect") {
    applyHealthCheckExpect(raw, route, v);
  } else if (flag == "--idle-timeout") {
    if (auto d = v.duration(raw, true)) route.idle_timeout = *d;
  } else if (flag == "--keepalive") {
    if (auto d = v.duration(raw, true)) {
      route.keepalive.reset();
      if (*d) route.keepalive = std::chrono::duration_cast<std::chrono::seconds>(**d);
    }
  } else if (flag == "--user-timeout") {
    if (auto d = v.duration(raw, true)) route.user_timeout = *d;
  } else if (flag == "--drain-delay") {
    if (auto d = v.duration(raw, false)) cfg.drain_delay = **d;
  } else if (flag == "--drain-timeout") {
    // Not duration(raw, true): there 0 means off, here it keeps meaning "close at once".
    if (const auto text = lower(raw.values.back()); text == "off" || text == "none") {
      cfg.drain_timeout.reset();
    } else if (auto d = v.duration(raw, false)) {
      cfg.drain_timeout = **d;
    }
  } else if (flag == "--max-connections") {
    if (auto n = number(raw, v)) cfg.max_connections = *n;
  } else if (flag == "--max-connections-per-source") {
    if (lower(raw.values.back()) == "off") {
      cfg.max_connections_per_source.reset();
    } else if (auto n = number(raw, v)) {
      cfg.max_connections_per_source = *n;
    }
  } else if (flag == "--backlog") {
    if (auto n = number(raw, v)) route.backlog = *n;
  } else if (flag == "--send-proxy") {
    applySendProxy(raw, route, v);
  } else if (flag == "--accept-proxy") {
    if (auto on = onOff(raw, v)) route.accept_proxy = *on;
  } else if (flag == "--trusted-proxies") {
    if (auto list = cidrList(raw, v)) route.trusted_proxies = std::move(*list);
  } else if (flag == "--proxy-header-timeout") {
    if (auto d = v.duration(raw, false)) route.proxy_header_timeout = **d;
  } else if (flag == "--allow") {
    if (auto list = cidrList(raw, v)) route.allow = std::move(*list);
  } else if (flag == "--deny") {
    if (auto list = cidrList(raw, v)) route.deny = std::move(*list);
  } else if (flag == "--target-allow") {
    if (auto list = cidrList(raw, v)) route.target_allow = std::move(*list);
  } else if (flag == "--rate-limit-per-source") {
    applyRateLimit(raw, route, v);
  } else if (flag == "--rate-limit-burst") {
    if (auto n = number(raw, v)) route.rate_limit_burst = static_cast<uint32_t>(*n);
  } else if (flag == "--pipe-size") {
    applyPipeSize(raw, cfg, v);
  } else if (flag == "--workers") {
    if (auto n = number(raw, v)) cfg.workers = static_cast<unsigned>(*n);
  } else if (flag == "--log-level") {
    applyLogLevel(raw, cfg, v);
  } else if (flag == "--log-format") {
    applyLogFormat(raw, cfg, v);
  } else if (flag == "--access-log") {
    applyAccessLog(raw, cfg, v);
  } else if (flag == "--log-progress-interval") {
    if (auto d = v.duration(raw, true)) cfg.log_progress_interval = *d;
  } else if (flag == "--admin") {
    applyAdmin(raw, cfg, v);
  } else if (flag == "--balance") {
    if (auto p = balance::parsePolicy(lower(raw.values.back()))) {
      route.balance = *p;
    } else {
      v.fail(raw, raw.values.back(),
             "is not a policy (random, round-robin, least-connections or source-hash)");
    }
  } else if (flag == "--name") {
    if (auto why = routeNameProblem(raw.values.back())) {
      v.fail(raw, raw.values.back(), *why);
    } else {
      route.name = raw.values.back();
    }
  } else if (flag == "--config") {
    if (auto text = nonEmptyText(raw, v)) cfg.config_file = *text;
  } else if (flag == "--user") {
    if (auto text = nonEmptyText(raw, v)) cfg.user = *text;
  } else if (flag == "--group") {
    if (auto text = nonEmptyText(raw, v)) cfg.group = *text;
  } else if (flag == "--upgrade-from") {
    if (auto text = nonEmptyText(raw, v)) cfg.upgrade_from = *text;
  } else if (flag == "--upgrade-socket") {
    if (auto text = nonEmptyText(raw, v)) cfg.upgrade_socket = *text;
  } else {
    v.line("internal error: option " + std::string(flag) + " has no handler");
  }
}

}  // namespace

std::string filePrefix(const FilePlace& place) {
  std::string out =
      "edge-connector: " + shown(place.path) + ":" + std::to_string(place.line) + ": ";
  if (!place.route.empty()) out += place.route + ": ";
  return out;
}

void Validator::fail(const Raw& raw, std::optional<std::string_view> value, std::string_view why) {
  if (!raw.file) {
    fail(*raw.spec, value, why);
    return;
  }
  std::string text = filePrefix(*raw.file) + "key " + std::string(raw.spec->file_key) + ": ";
  if (value) text += (raw.integer ? std::string(*value) : "\"" + shown(*value) + "\"") + " ";
  text += why;
  result_.errors.push_back(std::move(text));
}

void Validator::fail(const OptionSpec& spec, std::optional<std::string_view> value,
                     std::string_view why) {
  result_.errors.push_back(errorLine(spec, value, why));
}

std::optional<uint16_t> Validator::port(const Raw& raw) {
  const auto& text = raw.values.back();
  const auto& spec = *raw.spec;
  auto p = net::parsePort(text, static_cast<uint16_t>(spec.min));
  if (!p) fail(raw, text, "is not a port (" + rangeText(spec) + ")");
  return p;
}

std::optional<std::optional<Duration>> Validator::duration(const Raw& raw, bool off_allowed) {
  const auto& text = raw.values.back();
  const auto& spec = *raw.spec;
  const auto range = rangeText(spec);
  const std::string examples = " (" + range + (off_allowed ? ", or off)" : ")");
  std::optional<std::optional<Duration>> d;
  if (off_allowed) {
    d = parseOptionalDuration(text);
  } else if (auto plain = parseDuration(text)) {
    d = std::optional<Duration>(*plain);
  }
  if (!d) {
    fail(raw, text, "is not a duration" + examples + ", e.g. 500ms, 5s, 2m, 1h");
    return std::nullopt;
  }
  if (!*d) return d;
  const auto ms = (*d)->count();
  if (ms > spec.max) {
    fail(raw, text, "is above the maximum" + examples);
    return std::nullopt;
  }
  if (ms < spec.min) {
    fail(raw, text, "is below the minimum" + examples);
    return std::nullopt;
  }
  if (spec.kind == ValueKind::Seconds && ms % 1000 != 0) {
    // Rounding 1500ms to 1s silently would change what the user asked for.
    fail(raw, text, "is not whole seconds" + examples);
    return std::nullopt;
  }
  return d;
}

void apply(const Raw& raw, Config& config, Route& route, Validator& v) {
  applyOne(raw, config, route, v);
}

void applyAll(const std::vector<Raw>& raws, Config& config, Route& route, Validator& v) {
  for (const auto& raw : raws) {
    if (raw.spec->flag == "--type") applyOne(raw, config, route, v);
  }
  for (const auto& raw : raws) {
    if (raw.spec->flag != "--type") applyOne(raw, config, route, v);
  }
}

std::optional<std::string> routeNameProblem(std::string_view name) {
  if (name.empty() || name.size() > 64) return "is not 1-64 characters long";
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '.' && c != '-') {
      return "may hold only letters, digits, '_', '.' and '-' (1-64 of them)";
    }
  }
  return std::nullopt;
}

const OptionSpec& specOf(std::string_view flag) {
  if (const auto* spec = findOption(flag)) return *spec;
  std::abort();  // the table and this file disagree: a programming error
}

}  // namespace edge::config
