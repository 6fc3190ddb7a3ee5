#include "config/toml_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "config/error_line.h"

namespace edge::config {
namespace {

// toml++'s description, escaped but not cut at kShownBytes (it is bounded, and the end says what
// was seen). 256 bytes at most all the same.
std::string description(std::string_view text) {
  text = text.substr(0, 256);
  std::string out;
  for (size_t at = 0; at < text.size(); at += kShownBytes)
    out += shown(text.substr(at, kShownBytes));
  return out;
}

std::string prefix(const std::string& path) {
  return "edge-connector: " + shown(path) + ": ";
}

// The file's bytes, or nullopt after an error line. Only a regular file: a FIFO or a device
// would block a reload or never end.
std::optional<std::string> readBytes(const std::string& path, Validator& v) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    v.line(prefix(path) + "cannot read the configuration file: " + std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  std::string bytes;
  std::optional<std::string> problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "is not a regular file";
  } else {
    // Read to the end rather than trusting st_size: the file may grow while it is read.
    char buf[64 * 1024];
    while (bytes.size() <= kMaxConfigBytes) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        problem = std::string("cannot read the configuration file: ") + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      bytes.append(buf, static_cast<size_t>(n));
    }
    if (!problem && bytes.size() > kMaxConfigBytes) {
      problem = "is larger than " + std::to_string(kMaxConfigBytes) +
                " bytes (1 MiB), the most a configuration file may hold";
    }
  }
  ::close(fd);
  if (problem) {
    v.line(prefix(path) + *problem);
    return std::nullopt;
  }
  return bytes;
}

uint32_t lineOf(const toml::node& node) {
  return node.source().begin.line;
}

const char* typeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// What a key of this option takes, for wrong-type lines.
std::string expected(const OptionSpec& spec) {
  if (spec.repeatable) return "an array of strings, e.g. [\"10.0.0.2:53\"]";
  switch (spec.kind) {
    case ValueKind::Port:
      return "an integer port (" + rangeText(spec) + ")";
    case ValueKind::Count:
      return spec.value_name.ends_with("|off") ? "an integer (" + rangeText(spec) + ") or \"off\""
                                               : "an integer (" + rangeText(spec) + ")";
    case ValueKind::Bytes:
      return "an integer (bytes) or a string such as \"1m\" or \"off\"";
    case ValueKind::Millis:
    case ValueKind::Seconds:
      return "a duration as a string with its unit, e.g. \"5s\"";
    case ValueKind::Text:
      break;
  }
  if (spec.flag == "--listen") return "a string \"[ADDR:]PORT\" or an integer port";
  if (spec.value_name == "on|off") return "true or false";
  return "a string";
}

// The value as written, shown on one line: strings quoted, the rest as TOML prints it.
std::string shownNode(const toml::node& node) {
  if (const auto* s = node.as_string()) return "\"" + shown(s->get()) + "\"";
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  std::ostringstream out;
  node.visit([&out](const auto& n) { out << n; });
  return shown(out.str());
}

// One key's value as option text, or nullopt after an error line. A string is read exactly as
// the flag's text would be; an integer only where the option is a number (durations need their
// unit: a bare 3 would be seconds on the command line, which a reader of the file cannot tell).
std::optional<Raw> toRaw(const OptionSpec& spec, const toml::node& node, FilePlace place,
                         Validator& v) {
  Raw raw{&spec, {}, {}, std::move(place), false};
  auto wrongType = [&] {
    v.line(filePrefix(*raw.file) + "key " + std::string(spec.file_key) + ": " + shownNode(node) +
           " is " + typeName(node.type()) + "; expected " + expected(spec));
    return std::nullopt;
  };
  if (spec.repeatable) {
    const auto* array = node.as_array();
    if (array == nullptr) return wrongType();
    for (const auto& item : *array) {
      const auto* s = item.as_string();
      if (s == nullptr) {
        v.line(filePrefix(*raw.file) + "key " + std::string(spec.file_key) + ": " +
               shownNode(item) + " is " + typeName(item.type()) + "; expected " + expected(spec));
        return std::nullopt;
      }
      raw.values.push_back(s->get());
    }
    return raw;
  }
  if (const auto* s = node.as_string()) {
    raw.values.push_back(s->get());
    return raw;
  }
  if (const auto* b = node.as_boolean(); b != nullptr && spec.value_name == "on|off") {
    raw.values.push_back(b->get() ? "on" : "off");
    return raw;
  }
  const bool numeric = spec.kind == ValueKind::Port || spec.kind == ValueKind::Count ||
                       spec.kind == ValueKind::Bytes || spec.flag == "--listen";
  if (const auto* i = node.as_integer(); i != nullptr && numeric) {
    raw.values.push_back(std::to_string(i->get()));
    raw.integer = true;
    return raw;
  }
  return wrongType();
}

struct Keyed {
  std::string_view key;
  const toml::node* node;
};

// A table's keys in file order (toml++ keeps them sorted by name), so lines come out in order.
std::vector<Keyed> inFileOrder(const toml::table& table) {
  std::vector<Keyed> keys;
  for (const auto& [key, node] : table) keys.push_back({key.str(), &node});
  std::stable_sort(keys.begin(), keys.end(), [](const Keyed& a, const Keyed& b) {
    return lineOf(*a.node) < lineOf(*b.node);
  });
  return keys;
}

std::string unknownKey(std::string_view key) {
  return "key " + shown(key) + ": is not an option (see the configuration reference)";
}

void readRoute(const toml::table& table, size_t index, const std::string& path, ConfigFile& out,
               Validator& v) {
  FileRoute route;
  route.place = {path, lineOf(table), "route #" + std::to_string(index + 1)};
  if (const auto* name = table.get_as<std::string>("name");
      name != nullptr && !routeNameProblem(name->get())) {
    route.place.route = "route \"" + name->get() + "\"";
  }
  for (const auto& [key, node] : inFileOrder(table)) {
    FilePlace place{path, lineOf(*node), route.place.route};
    const auto* spec = findFileKey(key);
    if (spec == nullptr) {
      v.line(filePrefix(place) + unknownKey(key));
      continue;
    }
    if (spec->scope == Scope::Global) {
      v.line(filePrefix(place) + "key " + std::string(key) +
             ": is a global option; set it at the top level, before the first [[route]]");
      continue;
    }
    if (key == "name") route.named = true;
    if (auto raw = toRaw(*spec, *node, place, v)) route.raws.push_back(std::move(*raw));
  }
  if (!route.named) {
    v.line(filePrefix(route.place) + "key name: is required in every [[route]] table");
  }
  out.routes.push_back(std::move(route));
}

void readRoutes(const toml::node& node, const std::string& path, ConfigFile& out, Validator& v) {
  const auto* array = node.as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    v.line(filePrefix({path, lineOf(node), ""}) + "key route: is " + typeName(node.type()) +
           "; write each route as a [[route]] table");
    return;
  }
  if (array->size() > kMaxRoutes) {
    v.line(filePrefix({path, lineOf(*array->get(kMaxRoutes)), ""}) + "[[route]] number " +
           std::to_string(kMaxRoutes + 1) + ": a file may hold at most " +
           std::to_string(kMaxRoutes) + " routes (it has " + std::to_string(array->size()) + ")");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    readRoute(*array->get(i)->as_table(), i, path, out, v);
  }
}

}  // namespace

std::optional<ConfigFile> readConfigFile(const std::string& path, Validator& v) {
  auto bytes = readBytes(path, v);
  if (!bytes) return std::nullopt;
  toml::table root;
  try {
    root = toml::parse(*bytes, path);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    v.line(prefix(path).substr(0, prefix(path).size() - 2) + ":" + std::to_string(at.line) + ":" +
           std::to_string(at.column) + ": not TOML: " + description(e.description()));
    return std::nullopt;
  }

  ConfigFile out;
  const toml::node* routes = nullptr;
  for (const auto& [key, node] : inFileOrder(root)) {
    FilePlace place{path, lineOf(*node), ""};
    if (key == "route") {
      routes = node;
      continue;
    }
    const auto* spec = findFileKey(key);
    if (spec == nullptr) {
      v.line(filePrefix(place) + unknownKey(key));
      continue;
    }
    if (auto raw = toRaw(*spec, *node, place, v)) {
      (spec->scope == Scope::Global ? out.globals : out.route_defaults).push_back(std::move(*raw));
    }
  }
  if (routes != nullptr) {
    out.has_routes = true;
    readRoutes(*routes, path, out, v);
  }
  if (!out.routes.empty()) {
    for (const auto& raw : out.route_defaults) {
      if (raw.spec->flag == "--name") {
        v.line(filePrefix(*raw.file) + "key name: \"" + shown(raw.values.back()) +
               "\" names one route; with [[route]] tables set it in each of them");
      }
    }
  }
  return out;
}

}  // namespace edge::config
