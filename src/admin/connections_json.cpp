#include "admin/connections_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "log/connection_id.h"

namespace edge::admin {

std::string connectionsJson(std::vector<proxy::ConnectionInfo> connections, size_t total,
                            size_t limit) {
  using Json = nlohmann::json;
  std::stable_sort(connections.begin(), connections.end(),
                   [](const auto& a, const auto& b) { return a.age > b.age; });
  if (connections.size() > limit) connections.resize(limit);
  auto seconds = [](std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1e3; };
  Json list = Json::array();
  for (const auto& c : connections) {
    list.push_back({{"id", log::formatConnectionId(c.id)},
                    {"route", c.route},
                    {"client", net::format(c.client)},
                    {"target", c.target ? Json(net::format(*c.target)) : Json(nullptr)},
                    {"target_name", c.target_name.empty() ? Json(nullptr) : Json(c.target_name)},
                    {"bytes_to_target", c.bytes_to_target},
                    {"bytes_to_client", c.bytes_to_client},
                    {"age_s", seconds(c.age)},
                    {"idle_s", seconds(c.idle)}});
  }
  const size_t shown = list.size();
  return Json{{"total", total},
              {"shown", shown},
              {"truncated", shown < total},
              {"connections", std::move(list)}}
             .dump(2, ' ', false, Json::error_handler_t::replace) +
         "\n";
}

}  // namespace edge::admin
