#pragma once
// GET /connections: the open connections the workers reported, as JSON.

#include <string>
#include <vector>

#include "proxy/connection_info.h"

namespace edge::admin {

// {"total": N, "shown": M, "truncated": bool, "connections": [{"id", "route", "client",
// "target", "target_name", "bytes_to_target", "bytes_to_client", "age_s", "idle_s"}]}, oldest
// first, at most `limit`. `total`: every matching connection, shown or not.
std::string connectionsJson(std::vector<proxy::ConnectionInfo> connections, size_t total,
                            size_t limit);

}  // namespace edge::admin
