// The effective configuration in words, for the start-up log (config/load.h).
#include <sstream>

#include "config/duration.h"
#include "config/error_line.h"
#include "config/load.h"
#include "net/endpoint.h"

namespace edge::config {

std::string describe(const Route& c) {
  std::ostringstream out;
  out << "route " << c.name << ": listen="
      << (c.listen_address ? net::format(net::Endpoint(*c.listen_address, c.listen_port))
                           : "*:" + std::to_string(c.listen_port))
      << " target=" << c.target << " type=" << toString(c.type);
  if (c.target_port) out << " target_port=" << *c.target_port;
  if (c.port_override) out << " port_override=" << *c.port_override;
  out << " balance=" << balance::toString(c.balance) << " refresh=" << formatDuration(c.min_refresh)
      << ".." << formatDuration(c.max_refresh) << " max_stale=" << formatDuration(c.max_stale)
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
      << " backlog=" << (c.backlog ? std::to_string(c.backlog) : std::string("somaxconn"))
      << " send_proxy=" << toString(c.send_proxy);
  if (c.accept_proxy) {
    out << " accept_proxy=on trusted_proxies=" << net::joinText(c.trusted_proxies)
        << " proxy_header_timeout=" << formatDuration(c.proxy_header_timeout);
  }
  if (!c.allow.empty()) out << " allow=" << net::joinText(c.allow);
  if (!c.deny.empty()) out << " deny=" << net::joinText(c.deny);
  if (!c.target_allow.empty()) out << " target_allow=" << net::joinText(c.target_allow);
  if (c.rate_limit) {
    out << " rate_limit_per_source=" << toString(*c.rate_limit)
        << " rate_limit_burst=" << c.rate_limit_burst.value_or(c.rate_limit->count);
  }
  return out.str();
}

std::vector<std::string> describeLines(const Config& config) {
  std::ostringstream out;
  out << "dns_servers=";
  if (config.dns_servers.empty()) out << "system";
  for (size_t i = 0; i < config.dns_servers.size(); ++i)
    out << (i ? "," : "") << config.dns_servers[i];
  out << " drain_delay=" << formatDuration(config.drain_delay)
      << " drain_timeout=" << formatDuration(config.drain_timeout) << " max_connections="
      << (config.max_connections ? std::to_string(*config.max_connections) : std::string("auto"))
      << " max_connections_per_source="
      << (config.max_connections_per_source ? std::to_string(*config.max_connections_per_source)
                                            : std::string("off"))
      << " pipe_size=" << (config.pipe_size ? std::to_string(config.pipe_size) : std::string("off"))
      << " workers=" << (config.workers ? std::to_string(config.workers) : std::string("auto"))
      << " config=" << config.config_file.value_or("none")
      << " user=" << config.user.value_or("none") << " group=" << config.group.value_or("none")
      << " admin=" << (config.admin ? net::format(*config.admin) : std::string("off"))
      << " log_format=" << toString(config.log_format)
      << " access_log=" << toString(config.access_log)
      << " log_progress_interval=" << formatDuration(config.log_progress_interval)
      << " routes=" << config.routes.size();
  std::vector<std::string> lines{out.str()};
  for (const auto& route : config.routes) lines.push_back(describe(route));
  return lines;
}

std::string describe(const Config& config) {
  std::string out;
  for (const auto& line : describeLines(config)) {
    if (!out.empty()) out += "; ";
    out += line;
  }
  return out;
}

}  // namespace edge::config
