#include "config/load.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <sstream>

#include "config/duration.h"
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
  std::vector<std::string> values;  // flags, or the env var split; empty: not given
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

class Validator {
 public:
  explicit Validator(LoadResult& result) : result_(result) {}

  void fail(const OptionSpec& spec, std::string_view value, std::string_view why) {
    std::string line = "error: " + std::string(spec.flag) + " / " + std::string(spec.env) + ": ";
    if (!value.empty()) line += "'" + std::string(value) + "' ";
    line += why;
    result_.errors.push_back(std::move(line));
  }

  std::optional<uint16_t> port(const Raw& raw, uint16_t min_port = 1) {
    const auto& text = raw.values.back();
    auto p = net::parsePort(text, min_port);
    if (!p) fail(*raw.spec, text, "is not a port (" + std::to_string(min_port) + "-65535)");
    return p;
  }

  std::optional<Duration> duration(const Raw& raw) {
    const auto& text = raw.values.back();
    auto d = parseDuration(text);
    if (!d) fail(*raw.spec, text, "is not a duration (e.g. 500ms, 5s, 2m, 1h)");
    return d;
  }

  std::optional<std::optional<Duration>> optionalDuration(const Raw& raw) {
    const auto& text = raw.values.back();
    auto d = parseOptionalDuration(text);
    if (!d) fail(*raw.spec, text, "is not a duration or 'off' (e.g. 500ms, 5s, 2m, 1h)");
    return d;
  }

 private:
  LoadResult& result_;
};

void applyListen(const Raw& raw, Config& cfg, Validator& v) {
  const auto& text = raw.values.back();
  auto hp = net::parseHostPort(text, /*allow_bare_port=*/true, /*min_port=*/0);
  if (!hp || !hp->port) {
    v.fail(*raw.spec, text, "is not [ADDR:]PORT (ADDR an IP address, PORT 0-65535)");
    return;
  }
  cfg.listen_address = hp->address;
  cfg.listen_port = *hp->port;
}

void applyType(const Raw& raw, Config& cfg, Validator& v) {
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

void applyDnsServers(const Raw& raw, Config& cfg, Validator& v) {
  for (const auto& text : raw.values) {
    auto hp = net::parseHostPort(text, /*allow_bare_port=*/false);
    if (!hp || !hp->address) {
      v.fail(*raw.spec, text, "is not IP[:PORT] (the resolver must be an IP address)");
      continue;
    }
    const uint16_t port = hp->port.value_or(53);
    cfg.dns_servers.push_back(net::format(net::Endpoint(*hp->address, port)));
  }
}

// A whole number in [lo, hi], or nullopt after reporting the problem.
std::optional<int> numberIn(const Raw& raw, Validator& v, int lo, int hi) {
  const auto& text = raw.values.back();
  int n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < lo || n > hi) {
    v.fail(*raw.spec, text,
           "is not a number from " + std::to_string(lo) + " to " + std::to_string(hi));
    return std::nullopt;
  }
  return n;
}

// "64k", "1m", "65536" (bytes), or "off"/"0" for no splice.
void applyPipeSize(const Raw& raw, Config& cfg, Validator& v) {
  const auto text = lower(raw.values.back());
  if (text == "off" || text == "0") {
    cfg.pipe_size = 0;
    return;
  }
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const std::string_view suffix(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
  const size_t unit = suffix.empty() ? 1 : suffix == "k" ? 1024 : suffix == "m" ? 1024 * 1024 : 0;
  constexpr size_t kMin = 4 * 1024, kMax = 16 * 1024 * 1024;
  if (ec != std::errc() || unit == 0 || n > kMax || n * unit < kMin || n * unit > kMax) {
    v.fail(*raw.spec, raw.values.back(), "is not a size from 4k to 16m (or off)");
    return;
  }
  cfg.pipe_size = n * unit;
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

// Applies one given option; every branch validates its own value.
void apply(const Raw& raw, Config& cfg, Validator& v, LoadResult& result) {
  const auto flag = raw.spec->flag;
  if (flag == "--listen") {
    applyListen(raw, cfg, v);
  } else if (flag == "--target") {
    cfg.target = raw.values.back();
  } else if (flag == "--type") {
    applyType(raw, cfg, v);
  } else if (flag == "--target-port") {
    if (auto p = v.port(raw)) cfg.target_port = p;
  } else if (flag == "--port-override") {
    if (auto p = v.port(raw)) cfg.port_override = p;
  } else if (flag == "--dns-server") {
    applyDnsServers(raw, cfg, v);
  } else if (flag == "--min-refresh") {
    if (auto d = v.duration(raw)) cfg.min_refresh = *d;
  } else if (flag == "--max-refresh") {
    if (auto d = v.duration(raw)) cfg.max_refresh = *d;
  } else if (flag == "--max-stale") {
    if (auto d = v.optionalDuration(raw)) cfg.max_stale = *d;
  } else if (flag == "--connect-timeout") {
    if (auto d = v.duration(raw)) cfg.connect_timeout = *d;
  } else if (flag == "--connect-retries") {
    if (auto n = numberIn(raw, v, 0, 10)) cfg.connect_retries = *n;
  } else if (flag == "--refused-backoff") {
    if (auto d = v.duration(raw)) cfg.refused_backoff = *d;
  } else if (flag == "--idle-timeout") {
    if (auto d = v.optionalDuration(raw)) cfg.idle_timeout = *d;
  } else if (flag == "--keepalive") {
    if (auto d = v.optionalDuration(raw)) {
      cfg.keepalive.reset();
      if (*d) cfg.keepalive = std::chrono::duration_cast<std::chrono::seconds>(**d);
      if (cfg.keepalive && cfg.keepalive->count() < 1) {
        v.fail(*raw.spec, raw.values.back(), "must be at least 1s (or off)");
      }
    }
  } else if (flag == "--drain-timeout") {
    if (auto d = v.duration(raw)) cfg.drain_timeout = *d;
  } else if (flag == "--backlog") {
    if (auto n = numberIn(raw, v, 1, 65535)) cfg.backlog = *n;
  } else if (flag == "--pipe-size") {
    applyPipeSize(raw, cfg, v);
  } else if (flag == "--workers") {
    if (auto n = numberIn(raw, v, 1, 256)) cfg.workers = static_cast<unsigned>(*n);
  } else if (flag == "--log-level") {
    applyLogLevel(raw, cfg, v);
  } else {
    result.errors.push_back("internal error: option " + std::string(flag) + " has no handler");
  }
}

const OptionSpec& specOf(std::string_view flag) {
  for (const auto& spec : optionTable()) {
    if (spec.flag == flag) return spec;
  }
  std::abort();  // the table and this file disagree: a programming error
}

// Checks that need more than one option.
void crossCheck(const std::map<std::string_view, Raw>& given, const Config& cfg, Validator& v) {
  if (!given.contains("--listen")) v.fail(specOf("--listen"), "", "is required");
  if (!given.contains("--target")) {
    v.fail(specOf("--target"), "", "is required");
  } else if (cfg.target.empty() || cfg.target.size() > 253) {
    v.fail(specOf("--target"), cfg.target, "is not a DNS name");
  }
  if (cfg.type != RecordType::Srv) {
    if (!given.contains("--target-port")) {
      v.fail(specOf("--target-port"), "",
             std::string("is required when --type / ECS_SERVICE_DISCOVERY_TYPE is ") +
                 toString(cfg.type));
    }
    if (cfg.port_override) {
      v.fail(specOf("--port-override"), std::to_string(*cfg.port_override),
             "applies to SRV only; use --target-port / TARGET_PORT");
    }
  }
  if (cfg.min_refresh.count() < 100) {
    v.fail(specOf("--min-refresh"), formatDuration(cfg.min_refresh), "must be at least 100ms");
  }
  if (cfg.max_refresh < cfg.min_refresh) {
    v.fail(specOf("--max-refresh"), formatDuration(cfg.max_refresh),
           "must not be below --min-refresh (" + formatDuration(cfg.min_refresh) + ")");
  }
  if (cfg.connect_timeout.count() < 1) {
    v.fail(specOf("--connect-timeout"), formatDuration(cfg.connect_timeout), "must be above 0");
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

LoadResult load(int argc, const char* const* argv, const EnvLookup& env) {
  LoadResult result;
  CLI::App app{"edge-connector: forwards TCP connections to backends found through DNS",
               "edge-connector"};
  app.set_version_flag("--version", "edge-connector " EDGE_VERSION);
  app.footer("Flags override environment variables. Durations: 500ms, 5s, 2m, 1h.");
  app.get_formatter()->column_width(34);

  const auto table = optionTable();
  std::vector<std::vector<std::string>> flag_values(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& spec = table[i];
    const std::string description = std::string(spec.help) + " [env " + std::string(spec.env) +
                                    ", default " + std::string(spec.fallback) + "]";
    auto* opt = app.add_option(std::string(spec.flag), flag_values[i], description);
    opt->type_name(std::string(spec.value_name));
    opt->multi_option_policy(spec.repeatable ? CLI::MultiOptionPolicy::TakeAll
                                             : CLI::MultiOptionPolicy::TakeLast);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    const int code = app.exit(e, out, err);
    result.output = out.str();
    if (code == 0) {
      result.exit_code = 0;
    } else {
      result.exit_code = 2;
      std::string message = e.what();
      result.errors.push_back("error: " + message + " (see --help)");
    }
    return result;
  }

  // Flags win; otherwise a non-empty env var (ECS task definitions often set empty ones).
  std::map<std::string_view, Raw> given;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& spec = table[i];
    Raw raw{&spec, flag_values[i]};
    if (raw.values.empty()) {
      const char* value = env(std::string(spec.env).c_str());
      if (value != nullptr && *value != '\0') {
        raw.values = spec.repeatable ? splitCommas(value) : std::vector<std::string>{value};
      }
    }
    if (!raw.values.empty()) given.emplace(spec.flag, std::move(raw));
  }

  Config cfg;
  Validator v(result);
  if (auto type = given.find("--type"); type != given.end()) applyType(type->second, cfg, v);
  if (cfg.type == RecordType::Srv && given.erase("--target-port") > 0) {
    // The old container's task definitions set TARGET_PORT next to an SRV target: not an error.
    result.notes.push_back(
        "TARGET_PORT / --target-port is ignored for SRV discovery (the "
        "records carry the port); use --port-override to replace it");
  }
  for (const auto& [flag, raw] : given) {
    if (flag != "--type") apply(raw, cfg, v, result);
  }
  crossCheck(given, cfg, v);

  if (!result.errors.empty()) {
    result.exit_code = 2;
    return result;
  }
  result.config = std::move(cfg);
  return result;
}

std::string describe(const Config& c) {
  std::ostringstream out;
  out << "listen="
      << (c.listen_address ? net::format(net::Endpoint(*c.listen_address, c.listen_port))
                           : "*:" + std::to_string(c.listen_port))
      << " target=" << c.target << " type=" << toString(c.type);
  if (c.target_port) out << " target_port=" << *c.target_port;
  if (c.port_override) out << " port_override=" << *c.port_override;
  out << " dns_servers=";
  if (c.dns_servers.empty()) out << "system";
  for (size_t i = 0; i < c.dns_servers.size(); ++i) out << (i ? "," : "") << c.dns_servers[i];
  out << " refresh=" << formatDuration(c.min_refresh) << ".." << formatDuration(c.max_refresh)
      << " max_stale=" << formatDuration(c.max_stale)
      << " connect_timeout=" << formatDuration(c.connect_timeout)
      << " connect_retries=" << c.connect_retries
      << " refused_backoff=" << formatDuration(c.refused_backoff)
      << " idle_timeout=" << formatDuration(c.idle_timeout) << " keepalive="
      << (c.keepalive ? std::to_string(c.keepalive->count()) + "s" : std::string("off"))
      << " drain_timeout=" << formatDuration(c.drain_timeout)
      << " backlog=" << (c.backlog ? std::to_string(c.backlog) : std::string("somaxconn"))
      << " pipe_size=" << (c.pipe_size ? std::to_string(c.pipe_size) : std::string("off"))
      << " workers=" << (c.workers ? std::to_string(c.workers) : std::string("auto"));
  return out.str();
}

}  // namespace edge::config
