#include "config/toml_writer.h"

#include <optional>

#include "config/options.h"
#include "net/endpoint.h"

namespace edge::config {
namespace {

using Value = std::optional<std::string>;  // nullopt: not set, written as a comment

std::string ms(Duration d) {
  return tomlString(durationText(d.count()));
}

std::string msOrOff(std::optional<Duration> d) {
  return d ? ms(*d) : tomlString("off");
}

template <typename T>
Value text(const std::optional<T>& value) {
  if (!value) return std::nullopt;
  return tomlString(*value);
}

template <typename T>
Value integer(const std::optional<T>& value) {
  if (!value) return std::nullopt;
  return std::to_string(*value);
}

Value globalValue(const Config& c, std::string_view flag) {
  if (flag == "--dns-server") {
    std::string out = "[";
    for (size_t i = 0; i < c.dns_servers.size(); ++i) {
      out += (i ? ", " : "") + tomlString(c.dns_servers[i]);
    }
    return out + "]";
  }
  if (flag == "--drain-delay") return ms(c.drain_delay);
  if (flag == "--drain-timeout") return msOrOff(c.drain_timeout);
  if (flag == "--max-connections") return integer(c.max_connections);
  if (flag == "--max-connections-per-source") {
    return c.max_connections_per_source ? std::to_string(*c.max_connections_per_source)
                                        : tomlString("off");
  }
  if (flag == "--pipe-size") {
    return tomlString(c.pipe_size ? bytesText(static_cast<int64_t>(c.pipe_size)) : "off");
  }
  if (flag == "--workers") return c.workers ? Value(std::to_string(c.workers)) : std::nullopt;
  if (flag == "--log-level") return tomlString(c.log_level);
  if (flag == "--log-format") return tomlString(toString(c.log_format));
  if (flag == "--access-log") return tomlString(toString(c.access_log));
  if (flag == "--log-progress-interval") return msOrOff(c.log_progress_interval);
  if (flag == "--admin") {
    // Written only when chosen: loaded back, the default must stay a default (a warning, not an
    // exit, when its port is taken).
    if (!c.admin_explicit) return std::nullopt;
    return tomlString(c.admin ? net::format(*c.admin) : "off");
  }
  if (flag == "--user") return text(c.user);
  if (flag == "--group") return text(c.group);
  if (flag == "--upgrade-from") return text(c.upgrade_from);
  if (flag == "--upgrade-socket") return text(c.upgrade_socket);
  return std::nullopt;
}

Value cidrs(const std::vector<net::Cidr>& list) {
  if (list.empty()) return std::nullopt;
  std::string out = "[";
  for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + tomlString(list[i].text());
  return out + "]";
}

Value routeValue(const Route& r, std::string_view flag) {
  if (flag == "--name") return tomlString(r.name);
  if (flag == "--listen") {
    return tomlString(r.listen_address
                          ? net::format(net::Endpoint(*r.listen_address, r.listen_port))
                          : std::to_string(r.listen_port));
  }
  if (flag == "--target") return tomlString(r.target);
  if (flag == "--type") return tomlString(toString(r.type));
  if (flag == "--target-port") return integer(r.target_port);
  if (flag == "--port-override") return integer(r.port_override);
  if (flag == "--min-refresh") return ms(r.min_refresh);
  if (flag == "--max-refresh") return ms(r.max_refresh);
  if (flag == "--max-stale") return msOrOff(r.max_stale);
  if (flag == "--state-file") return text(r.state_file);
  if (flag == "--balance") return tomlString(balance::toString(r.balance));
  if (flag == "--connect-timeout") return ms(r.connect_timeout);
  if (flag == "--connect-retries") return std::to_string(r.connect_retries);
  if (flag == "--refused-backoff") return ms(r.refused_backoff);
  if (flag == "--eject-max") return ms(r.eject_max);
  if (flag == "--health-check-interval") return msOrOff(r.health_check_interval);
  if (flag == "--health-check-timeout") return ms(r.health_check_timeout);
  if (flag == "--health-check-expect") {
    return r.health_check_expect.empty() ? std::nullopt : Value(tomlString(r.health_check_expect));
  }
  if (flag == "--idle-timeout") return msOrOff(r.idle_timeout);
  if (flag == "--keepalive") {
    return r.keepalive ? ms(std::chrono::duration_cast<Duration>(*r.keepalive)) : tomlString("off");
  }
  if (flag == "--user-timeout") return msOrOff(r.user_timeout);
  if (flag == "--send-proxy") return tomlString(toString(r.send_proxy));
  if (flag == "--accept-proxy") return r.accept_proxy ? "true" : "false";
  if (flag == "--trusted-proxies") return cidrs(r.trusted_proxies);
  if (flag == "--proxy-header-timeout") return ms(r.proxy_header_timeout);
  if (flag == "--allow") return cidrs(r.allow);
  if (flag == "--deny") return cidrs(r.deny);
  if (flag == "--target-allow") return cidrs(r.target_allow);
  if (flag == "--rate-limit-per-source") {
    return tomlString(r.rate_limit ? toString(*r.rate_limit) : "off");
  }
  if (flag == "--rate-limit-burst") return integer(r.rate_limit_burst);
  if (flag == "--backlog") return r.backlog ? Value(std::to_string(r.backlog)) : std::nullopt;
  return std::nullopt;
}

void line(std::string& out, const OptionSpec& spec, const Value& value) {
  if (value) {
    out += std::string(spec.file_key) + " = " + *value + "\n";
  } else {
    out += "# " + std::string(spec.file_key) + ": not set (" + std::string(spec.fallback) + ")\n";
  }
}

}  // namespace

std::string tomlString(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += ch;  // UTF-8 passes through: TOML files are UTF-8
        }
    }
  }
  return out + "\"";
}

std::string toToml(const Config& config) {
  std::string out =
      "# edge-connector configuration: every option, defaults included (edge-connector check)\n";
  for (const auto& spec : optionTable()) {
    if (spec.scope == Scope::Global && !spec.file_key.empty()) {
      line(out, spec, globalValue(config, spec.flag));
    }
  }
  for (const auto& route : config.routes) {
    out += "\n[[route]]\n";
    // The name first: it says which route the lines below belong to.
    line(out, *findOption("--name"), routeValue(route, "--name"));
    for (const auto& spec : optionTable()) {
      if (spec.scope == Scope::Route && spec.flag != "--name") {
        line(out, spec, routeValue(route, spec.flag));
      }
    }
  }
  return out;
}

}  // namespace edge::config
