#include "config/load.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <sstream>

#include "config/command_line.h"
#include "config/dns_name.h"
#include "config/duration.h"
#include "config/error_line.h"
#include "config/options.h"
#include "net/endpoint.h"

#ifndef EDGE_VERSION
#define EDGE_VERSION "0.0.0"
#endif

namespace edge::config {
namespace {

// The raw text of one option and where it came from.
struct Raw {
  const OptionSpec* spec = nullptr;
  std::vector<std::string> values;  // flags, or the env var (split when repeatable)
  std::string env_text;             // the env var as set, when the values came from it
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> splitCommas(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    auto item = text.substr(start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

constexpr size_t kMaxExpectBytes = 256;

class Validator {
 public:
  explicit Validator(LoadResult& result) : result_(result) {}

  void fail(const OptionSpec& spec, std::optional<std::string_view> value, std::string_view why) {
    result_.errors.push_back(errorLine(spec, value, why));
  }

  std::optional<uint16_t> port(const Raw& raw) {
    const auto& text = raw.values.back();
    const auto& spec = *raw.spec;
    auto p = net::parsePort(text, static_cast<uint16_t>(spec.min));
    if (!p) fail(spec, text, "is not a port (" + rangeText(spec) + ")");
    return p;
  }

  // A duration within the option's range; `off_allowed`: "off" (or 0) gives nullopt inside.
  std::optional<std::optional<Duration>> duration(const Raw& raw, bool off_allowed) {
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
      fail(spec, text, "is not a duration" + examples + ", e.g. 500ms, 5s, 2m, 1h");
      return std::nullopt;
    }
    if (!*d) return d;
    const auto ms = (*d)->count();
    if (ms > spec.max) {
      fail(spec, text, "is above the maximum" + examples);
      return std::nullopt;
    }
    if (ms < spec.min) {
      fail(spec, text, "is below the minimum" + examples);
      return std::nullopt;
    }
    if (spec.kind == ValueKind::Seconds && ms % 1000 != 0) {
      // Rounding 1500ms to 1s silently would change what the user asked for.
      fail(spec, text, "is not whole seconds" + examples);
      return std::nullopt;
    }
    return d;
  }

 private:
  LoadResult& result_;
};

void applyListen(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  auto hp = net::parseHostPort(text, /*allow_bare_port=*/true, /*min_port=*/0);
  if (!hp || !hp->port) {
    v.fail(*raw.spec, text, "is not [ADDR:]PORT (ADDR an IP address, PORT 0-65535)");
    return;
  }
  // asio turns an interface name it cannot find into scope 0: bind() would then fail (exit 1).
  if (text.find('%') != std::string::npos && hp->address && hp->address->is_v6() &&
      hp->address->to_v6().scope_id() == 0) {
    v.fail(*raw.spec, text, "names an interface (after %) that does not exist");
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
    v.fail(*raw.spec, raw.values.back(), "is not a record type (srv, a or aaaa)");
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
  if (raw.values.empty()) {
    // Only an env var of commas and blanks gets here: it must not silently mean "system".
    v.fail(*raw.spec, raw.env_text,
           "lists no server (unset it, or leave it empty, for /etc/resolv.conf)");
    return;
  }
  for (const auto& text : raw.values) {
    auto hp = net::parseHostPort(text, /*allow_bare_port=*/false, /*min_port=*/0);
    if (!hp || !hp->address) {
      v.fail(*raw.spec, text, "is not IP[:PORT] (the resolver must be an IP address)");
      continue;
    }
    const uint16_t port = hp->port.value_or(53);
    if (auto why = resolverProblem(text, *hp->address, port)) {
      v.fail(*raw.spec, text, *why);
      continue;
    }
    cfg.dns_servers.push_back(net::format(net::Endpoint(*hp->address, port)));
  }
}

void applyTarget(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (auto why = dnsNameProblem(text)) {
    v.fail(*raw.spec, text, *why);
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
    v.fail(spec, text,
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
    v.fail(spec, raw.values.back(),
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
  struct stat st {};
  if (::stat(text.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    v.fail(*raw.spec, text, "is a directory (give a file path inside it)");
    return;
  }
  const auto slash = text.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : text.substr(0, slash);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    v.fail(*raw.spec, text, "is in a directory that does not exist (" + dir + ")");
    return;
  }
  cfg.state_file = text;
}

void applyLogLevel(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  static const char* const kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find_if(std::begin(kLevels), std::end(kLevels),
                   [&](const char* l) { return text == l; }) == std::end(kLevels)) {
    v.fail(*raw.spec, raw.values.back(),
           "is not a log level (trace, debug, info, warn, error, off)");
    return;
  }
  cfg.log_level = text;
}

// Literal text (no escapes): greetings worth checking are printable ("SSH-2.0-", "220 ", "+OK").
void applyHealthCheckExpect(const Raw& raw, Route& cfg, Validator& v) {
  const auto& text = raw.values.back();
  if (text.empty()) {
    v.fail(*raw.spec, text, "is empty (leave it out to check the connect alone)");
  } else if (text.size() > kMaxExpectBytes) {
    v.fail(*raw.spec, text,
           "is longer than " + std::to_string(kMaxExpectBytes) + " bytes (a greeting's start)");
  } else {
    cfg.health_check_expect = text;
  }
}

// Applies one given option; every branch validates its own value.
void apply(const Raw& raw, Config& cfg, Validator& v, LoadResult& result) {
  const auto flag = raw.spec->flag;
  Route& route = cfg.routes.front();
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
  } else if (flag == "--pipe-size") {
    applyPipeSize(raw, cfg, v);
  } else if (flag == "--workers") {
    if (auto n = number(raw, v)) cfg.workers = static_cast<unsigned>(*n);
  } else if (flag == "--log-level") {
    applyLogLevel(raw, cfg, v);
  } else {
    result.errors.push_back("internal error: option " + std::string(flag) + " has no handler");
  }
}

const OptionSpec& specOf(std::string_view flag) {
  if (const auto* spec = findOption(flag)) return *spec;
  std::abort();  // the table and this file disagree: a programming error
}

// Checks that need more than one option.
void crossCheck(const std::map<std::string_view, Raw>& given, const Config& config, Validator& v) {
  const Route& cfg = config.routes.front();
  if (!given.contains("--listen")) v.fail(specOf("--listen"), std::nullopt, "is required");
  if (!given.contains("--target")) v.fail(specOf("--target"), std::nullopt, "is required");
  if (cfg.type != RecordType::Srv) {
    if (!given.contains("--target-port")) {
      v.fail(specOf("--target-port"), std::nullopt,
             std::string("is required when --type / ECS_SERVICE_DISCOVERY_TYPE is ") +
                 toString(cfg.type));
    }
    if (cfg.port_override) {
      v.fail(specOf("--port-override"), std::to_string(*cfg.port_override),
             "applies to SRV only; use --target-port / TARGET_PORT");
    }
  }
  if (!cfg.health_check_interval && given.contains("--health-check-expect")) {
    v.fail(specOf("--health-check-expect"), std::nullopt,
           "needs --health-check-interval (health checks are off)");
  }
  if (cfg.max_refresh < cfg.min_refresh) {
    v.fail(specOf("--max-refresh"), formatDuration(cfg.max_refresh),
           "must not be below --min-refresh (" + formatDuration(cfg.min_refresh) + ")");
  }
}

}  // namespace

const char* toString(RecordType type) {
  switch (type) {
    case RecordType::Srv:
      return "srv";
    case RecordType::A:
      return "a";
    case RecordType::Aaaa:
      return "aaaa";
  }
  return "?";
}

// --help text from the option table (CLI11 formats it; it parses nothing: see command_line.h).
static std::string helpText() {
  CLI::App app{"edge-connector: forwards TCP connections to backends found through DNS",
               "edge-connector"};
  app.set_version_flag("--version", "edge-connector " EDGE_VERSION);
  app.footer("Flags override environment variables. Durations: 500ms, 5s, 2m, 1h.");
  app.get_formatter()->column_width(34);
  for (const auto& spec : optionTable()) {
    std::string description = std::string(spec.help) + " [env " + std::string(spec.env) +
                              ", default " + std::string(spec.fallback);
    if (const auto range = rangeText(spec); !range.empty()) description += ", range " + range;
    description += "]";
    app.add_option(std::string(spec.flag))
        ->description(description)
        ->type_name(std::string(spec.value_name));
  }
  return app.help();
}

LoadResult load(int argc, const char* const* argv, const EnvLookup& env) {
  LoadResult result;
  auto line = scanCommandLine(argc, argv);
  if (line.help) {
    result.output = helpText();
    return result;
  }
  if (line.version) {
    result.output = "edge-connector " EDGE_VERSION "\n";
    return result;
  }
  result.errors = std::move(line.errors);

  // Flags win; otherwise a non-empty env var (ECS task definitions often set empty ones).
  const auto table = optionTable();
  std::map<std::string_view, Raw> given;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& spec = table[i];
    Raw raw{&spec, std::move(line.values[i]), {}};
    bool from_env = false;
    if (raw.values.empty()) {
      const char* value = env(std::string(spec.env).c_str());
      if (value != nullptr && *value != '\0') {
        raw.env_text = value;
        raw.values = spec.repeatable ? splitCommas(value) : std::vector<std::string>{value};
        from_env = true;
      }
    }
    if (!raw.values.empty() || from_env) given.emplace(spec.flag, std::move(raw));
  }

  Config cfg;
  Validator v(result);
  if (auto type = given.find("--type"); type != given.end()) {
    applyType(type->second, cfg.routes.front(), v);
  }
  for (const auto& [flag, raw] : given) {
    if (flag != "--type") apply(raw, cfg, v, result);
  }
  if (auto& route = cfg.routes.front(); route.type == RecordType::Srv && route.target_port) {
    // The old container's task definitions set TARGET_PORT next to an SRV target: not an error
    // when it is a port (checked above: a malformed one is, even though it would be ignored).
    route.target_port.reset();
    result.notes.push_back(
        "TARGET_PORT / --target-port is ignored for SRV discovery (the "
        "records carry the port); use --port-override to replace it");
  }
  crossCheck(given, cfg, v);

  if (!result.errors.empty()) {
    result.exit_code = 2;
    return result;
  }
  result.config = std::move(cfg);
  return result;
}

std::string describe(const Config& config) {
  const Route& c = config.routes.front();
  std::ostringstream out;
  out << "listen="
      << (c.listen_address ? net::format(net::Endpoint(*c.listen_address, c.listen_port))
                           : "*:" + std::to_string(c.listen_port))
      << " target=" << c.target << " type=" << toString(c.type);
  if (c.target_port) out << " target_port=" << *c.target_port;
  if (c.port_override) out << " port_override=" << *c.port_override;
  out << " dns_servers=";
  if (config.dns_servers.empty()) out << "system";
  for (size_t i = 0; i < config.dns_servers.size(); ++i)
    out << (i ? "," : "") << config.dns_servers[i];
  out << " refresh=" << formatDuration(c.min_refresh) << ".." << formatDuration(c.max_refresh)
      << " max_stale=" << formatDuration(c.max_stale)
      << " state_file=" << c.state_file.value_or("off")
      << " connect_timeout=" << formatDuration(c.connect_timeout)
      << " connect_retries=" << c.connect_retries
      << " refused_backoff=" << formatDuration(c.refused_backoff)
      << " eject_max=" << formatDuration(c.eject_max)
      << " health_check=" << formatDuration(c.health_check_interval);
  if (c.health_check_interval) {
    out << " health_check_timeout=" << formatDuration(c.health_check_timeout);
    if (!c.health_check_expect.empty())
      out << " health_check_expect=\"" << shown(c.health_check_expect) << '"';
  }
  out << " idle_timeout=" << formatDuration(c.idle_timeout) << " keepalive="
      << (c.keepalive ? std::to_string(c.keepalive->count()) + "s" : std::string("off"))
      << " user_timeout=" << formatDuration(c.user_timeout)
      << " drain_delay=" << formatDuration(config.drain_delay)
      << " drain_timeout=" << formatDuration(config.drain_timeout) << " max_connections="
      << (config.max_connections ? std::to_string(*config.max_connections) : std::string("auto"))
      << " max_connections_per_source="
      << (config.max_connections_per_source ? std::to_string(*config.max_connections_per_source)
                                            : std::string("off"))
      << " backlog=" << (c.backlog ? std::to_string(c.backlog) : std::string("somaxconn"))
      << " pipe_size=" << (config.pipe_size ? std::to_string(config.pipe_size) : std::string("off"))
      << " workers=" << (config.workers ? std::to_string(config.workers) : std::string("auto"));
  return out.str();
}

}  // namespace edge::config
