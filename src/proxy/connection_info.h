#pragma once
// One open connection as the admin endpoint's /connections shows it: a copy, taken on the
// session's worker thread (Session::info), safe to hand to another thread.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "net/endpoint.h"

namespace edge::proxy {

struct ConnectionInfo {
  uint64_t id = 0;  // log/connection_id.h: formatConnectionId() gives the access log's text
  std::string route;
  net::Endpoint client;
  std::optional<net::Endpoint> target;  // while connecting: the target being tried
  std::string target_name;
  uint64_t bytes_to_target = 0;
  uint64_t bytes_to_client = 0;
  std::chrono::milliseconds age{0};  // since accepted
  // Since a byte last moved either way (or since connected; while connecting, the age). Learnt
  // from the worker's sweep (at most a second apart): a connection that moved bytes since the
  // last sweep shows 0.
  std::chrono::milliseconds idle{0};
};

}  // namespace edge::proxy
