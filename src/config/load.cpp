#include "config/load.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <map>
#include <set>

#include "config/apply.h"
#include "config/command_line.h"
#include "config/duration.h"
#include "config/error_line.h"
#include "config/options.h"
#include "config/toml_file.h"
#include "net/endpoint.h"

#ifndef EDGE_VERSION
#define EDGE_VERSION "0.0.0"
#endif

namespace edge::config {
namespace {

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

// How checks across options name them: flag and env var for the route that flags and env vars
// describe, or file key (with the file, line and route) for a [[route]] table.
class Naming {
 public:
  Naming(Validator& v, const FilePlace* route) : v_(v), route_(route) {}

  std::string operator()(std::string_view flag) const {
    const auto& spec = specOf(flag);
    if (route_ != nullptr) return std::string(spec.file_key);
    return std::string(spec.flag) + " / " + std::string(spec.env);
  }

  void fail(std::string_view flag, std::optional<std::string_view> value, std::string_view why) {
    const auto& spec = specOf(flag);
    if (route_ == nullptr) {
      v_.fail(spec, value, why);
      return;
    }
    std::string text = filePrefix(*route_) + "key " + std::string(spec.file_key) + ": ";
    if (value) text += "\"" + shown(*value) + "\" ";
    v_.line(text + std::string(why));
  }

 private:
  Validator& v_;
  const FilePlace* route_;
};

// Checks that need more than one option of a route; `given`: the flags set in any layer.
void crossCheck(const std::set<std::string_view>& given, const Route& cfg, Naming name) {
  if (!given.contains("--listen")) name.fail("--listen", std::nullopt, "is required");
  if (!given.contains("--target")) name.fail("--target", std::nullopt, "is required");
  if (cfg.type != RecordType::Srv) {
    if (!given.contains("--target-port")) {
      name.fail("--target-port", std::nullopt,
                "is required when " + name("--type") + " is " + toString(cfg.type));
    }
    if (cfg.port_override) {
      name.fail("--port-override", std::to_string(*cfg.port_override),
                "applies to SRV only; use " + name("--target-port"));
    }
  }
  if (!cfg.health_check_interval && given.contains("--health-check-expect")) {
    name.fail("--health-check-expect", std::nullopt,
              "needs " + name("--health-check-interval") + " (health checks are off)");
  }
  if (cfg.accept_proxy && cfg.trusted_proxies.empty() && !given.contains("--trusted-proxies")) {
    name.fail("--trusted-proxies", std::nullopt,
              "is required when " + name("--accept-proxy") +
                  " is on (the addresses allowed to send PROXY headers)");
  }
  if (!cfg.accept_proxy && given.contains("--trusted-proxies")) {
    name.fail("--trusted-proxies", std::nullopt,
              "needs " + name("--accept-proxy") + " (PROXY headers are not read)");
  }
  if (!cfg.rate_limit && cfg.rate_limit_burst) {
    name.fail("--rate-limit-burst", std::to_string(*cfg.rate_limit_burst),
              "needs " + name("--rate-limit-per-source"));
  }
  if (cfg.max_refresh < cfg.min_refresh) {
    name.fail("--max-refresh", formatDuration(cfg.max_refresh),
              "must not be below " + name("--min-refresh") + " (" +
                  formatDuration(cfg.min_refresh) + ")");
  }
}

void noteIgnoredTargetPort(Route& route, const FilePlace* place, Validator& v) {
  if (route.type != RecordType::Srv || !route.target_port) return;
  // The old container's task definitions set TARGET_PORT next to an SRV target: not an error
  // when it is a port (checked: a malformed one is, even though it would be ignored).
  route.target_port.reset();
  if (place == nullptr) {
    v.note(
        "TARGET_PORT / --target-port is ignored for SRV discovery (the "
        "records carry the port); use --port-override to replace it");
  } else {
    v.note(place->route +
           ": target_port is ignored for SRV discovery (the records carry the port); use "
           "port_override to replace it");
  }
}

void addGiven(const std::vector<Raw>& raws, std::set<std::string_view>& given) {
  for (const auto& raw : raws) given.insert(raw.spec->flag);
}

const Raw* lastOf(const std::vector<Raw>& raws, std::string_view flag) {
  const Raw* found = nullptr;
  for (const auto& raw : raws) {
    if (raw.spec->flag == flag) found = &raw;
  }
  return found;
}

// Routes of a file with [[route]] tables: the top-level route options are every route's
// defaults, each table overrides them. Names and listen addresses must be unique; "*:P" next to
// an explicit address on the same port is allowed (the kernel hands a connection to the socket
// bound to its exact address first).
std::vector<Route> fileRoutes(const ConfigFile& file, Config& config, Validator& v) {
  Route defaults;
  applyAll(file.route_defaults, config, defaults, v);
  std::set<std::string_view> default_given;
  addGiven(file.route_defaults, default_given);

  std::vector<Route> routes;
  std::map<std::string, size_t> names;
  std::map<std::string, size_t> listens;
  std::map<std::string, size_t> state_files;
  for (size_t i = 0; i < file.routes.size(); ++i) {
    const auto& table = file.routes[i];
    Route route = defaults;
    applyAll(table.raws, config, route, v);
    auto given = default_given;
    addGiven(table.raws, given);
    noteIgnoredTargetPort(route, &table.place, v);
    crossCheck(given, route, Naming(v, &table.place));

    if (const Raw* name = lastOf(table.raws, "--name"); name != nullptr && table.named) {
      if (auto [it, fresh] = names.emplace(route.name, i); !fresh) {
        v.fail(*name, name->values.back(),
               "is already the name of the route at line " +
                   std::to_string(file.routes[it->second].place.line));
      }
    }
    const Raw* listen = lastOf(table.raws, "--listen");
    if (listen == nullptr) listen = lastOf(file.route_defaults, "--listen");
    if (listen != nullptr && route.listen_port != 0) {
      if (auto [it, fresh] = listens.emplace(listenKey(route), i); !fresh) {
        const auto& other = file.routes[it->second];
        v.fail(*listen, listen->values.back(),
               "is already where " + other.place.route + " listens (line " +
                   std::to_string(other.place.line) + ")");
      }
    }
    // Two routes saving their targets to one file would overwrite each other's.
    const Raw* state = lastOf(table.raws, "--state-file");
    if (state == nullptr) state = lastOf(file.route_defaults, "--state-file");
    if (state != nullptr && route.state_file) {
      if (auto [it, fresh] = state_files.emplace(*route.state_file, i); !fresh) {
        const auto& other = file.routes[it->second];
        v.fail(*state, state->values.back(),
               "is already the state file of " + other.place.route + " (line " +
                   std::to_string(other.place.line) + "); give each route its own");
      }
    }
    routes.push_back(std::move(route));
  }
  return routes;
}

}  // namespace

std::string listenKey(const Route& route) {
  return route.listen_address ? net::format(net::Endpoint(*route.listen_address, route.listen_port))
                              : "*:" + std::to_string(route.listen_port);
}

const char* toString(LogFormat format) {
  return format == LogFormat::Json ? "json" : "text";
}

const char* toString(ProxyProtocol version) {
  switch (version) {
    case ProxyProtocol::Off:
      return "off";
    case ProxyProtocol::V1:
      return "v1";
    case ProxyProtocol::V2:
      return "v2";
  }
  return "?";
}

std::string toString(const RateLimit& rate) {
  const auto ms = rate.period.count();
  const char* unit = ms == 3'600'000 ? "h" : ms == 60'000 ? "m" : "s";
  return std::to_string(rate.count) + "/" + unit;
}

std::string toString(const AccessLogEvents& events) {
  std::string out;
  for (auto [on, name] : {std::pair{events.open, "open"}, std::pair{events.progress, "progress"},
                          std::pair{events.close, "close"}}) {
    if (on) out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out.empty() ? "off" : out;
}

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
  app.footer(
      "Flags override environment variables, which override the file (--config). "
      "`edge-connector check [flags]` prints the effective configuration as TOML. "
      "Durations: 500ms, 5s, 2m, 1h.");
  app.get_formatter()->column_width(34);
  for (const auto& spec : optionTable()) {
    std::string description = std::string(spec.help) + " [env " + std::string(spec.env);
    if (!spec.file_key.empty()) {
      description += ", file " + std::string(spec.file_key) + " (" + toString(spec.scope) + ")";
    }
    description += ", default " + std::string(spec.fallback);
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
  std::vector<Raw> globals;
  std::vector<Raw> route_options;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& spec = table[i];
    Raw raw{&spec, std::move(line.values[i]), {}, std::nullopt, false};
    bool from_env = false;
    if (raw.values.empty()) {
      const char* value = env(std::string(spec.env).c_str());
      if (value != nullptr && *value != '\0') {
        raw.env_text = value;
        raw.values = spec.repeatable ? splitCommas(value) : std::vector<std::string>{value};
        from_env = true;
      }
    }
    if (raw.values.empty() && !from_env) continue;
    (spec.scope == Scope::Global ? globals : route_options).push_back(std::move(raw));
  }

  // Defaults < file < env vars < flags: each layer is applied over the one before.
  Config cfg;
  Validator v(result);
  Route unused;  // global options never touch it
  std::optional<ConfigFile> file;
  if (const Raw* config = lastOf(globals, "--config")) {
    apply(*config, cfg, unused, v);
    if (cfg.config_file) {
      file = readConfigFile(*cfg.config_file, v);
      if (!file) {
        result.exit_code = 2;
        return result;
      }
      applyAll(file->globals, cfg, unused, v);
    }
  }
  applyAll(globals, cfg, unused, v);

  if (!file || !file->has_routes) {
    // No [[route]] table: flags and env vars (over the file's top-level keys) describe one route.
    Route route;
    std::set<std::string_view> given;
    if (file) {
      applyAll(file->route_defaults, cfg, route, v);
      addGiven(file->route_defaults, given);
    }
    applyAll(route_options, cfg, route, v);
    addGiven(route_options, given);
    noteIgnoredTargetPort(route, nullptr, v);
    crossCheck(given, route, Naming(v, nullptr));
    cfg.routes = {std::move(route)};
  } else {
    // Which route would a flag mean? None: route options live in the file.
    for (const auto& raw : route_options) {
      v.line("edge-connector: " + std::string(raw.spec->flag) + " / " + std::string(raw.spec->env) +
             ": is a route option; with [[route]] tables in " + shown(*cfg.config_file) +
             ", set it in the file");
    }
    cfg.routes = fileRoutes(*file, cfg, v);
  }

  if (!result.errors.empty()) {
    result.exit_code = 2;
    return result;
  }
  result.config = std::move(cfg);
  return result;
}

}  // namespace edge::config
