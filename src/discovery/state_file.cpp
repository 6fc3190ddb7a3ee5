#include "discovery/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "net/endpoint.h"
#include "net/fd.h"

namespace edge::discovery {
namespace {

using SystemClock = std::chrono::system_clock;

std::string escapeName(std::string_view name) {
  std::string out;
  for (const unsigned char c : name) {
    if (c < '!' || c > '~' || c == '\\') {
      char code[5];
      std::snprintf(code, sizeof code, "\\%03u", static_cast<unsigned>(c));
      out += code;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> unescapeName(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '\\') {
      if (c < '!' || c > '~') return std::nullopt;
      out += static_cast<char>(c);
      continue;
    }
    if (i + 3 >= text.size()) return std::nullopt;  // \DDD: three digits follow
    unsigned value = 0;
    for (size_t k = 1; k <= 3; ++k) {
      const char d = text[i + k];
      if (d < '0' || d > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(d - '0');
    }
    if (value > 255) return std::nullopt;
    out += static_cast<char>(value);
    i += 3;
  }
  return out;
}

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < line.size()) {
    auto end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));  // empty fields (two spaces) stay: an error
    start = end + 1;
  }
  return out;
}

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string portText(const std::optional<uint16_t>& port) {
  return port ? std::to_string(*port) : "-";
}

std::string describeQuery(const StateQuery& q) {
  return q.name + " " + config::toString(q.type) + " " + portText(q.port);
}

std::optional<config::RecordType> parseType(std::string_view text) {
  if (text == "srv") return config::RecordType::Srv;
  if (text == "a") return config::RecordType::A;
  if (text == "aaaa") return config::RecordType::Aaaa;
  return std::nullopt;
}

bool sameName(std::string_view a, std::string_view b) {  // DNS names: ASCII case-insensitive
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// One parser pass over the lines; the first problem ends it.
class Parser {
 public:
  Parser(std::string_view text, const StateQuery& query, std::string& error)
      : text_(text), query_(query), error_(error) {}

  std::optional<SavedTargets> run() {
    if (text_.size() > kMaxStateFileBytes) return fail("larger than 1 MiB");
    if (text_.find('\0') != std::string_view::npos) return fail("contains a NUL byte");
    std::string_view line;
    if (!next(line)) return std::nullopt;
    if (line.substr(0, std::min(line.size(), kStateMagic.size() + 1)) !=
        std::string(kStateMagic) + " ") {
      return fail("not an edge-connector state file (no '" + std::string(kStateMagic) +
                  "' first line)");
    }
    const auto version = parseNumber<int>(line.substr(kStateMagic.size() + 1));
    if (version != kStateVersion) {
      return fail("format version '" + std::string(line.substr(kStateMagic.size() + 1)) +
                  "' is not the one this build reads (" + std::to_string(kStateVersion) + ")");
    }
    SavedTargets saved;
    if (!next(line)) return std::nullopt;
    auto fields = splitSpaces(line);
    std::optional<SystemClock::time_point> at;
    if (fields.size() != 2 || fields[0] != "saved-at" || !(at = parseTimestamp(fields[1]))) {
      return fail("expected 'saved-at TIMESTAMP'");
    }
    saved.saved_at = *at;
    if (!next(line)) return std::nullopt;
    fields = splitSpaces(line);
    if (fields.size() != 4 || fields[0] != "query") return fail("expected 'query NAME TYPE PORT'");
    StateQuery saved_query;
    auto name = unescapeName(fields[1]);
    auto type = parseType(fields[2]);
    auto port = fields[3] == "-" ? std::optional<uint16_t>() : net::parsePort(fields[3]);
    if (!name || !type || (fields[3] != "-" && !port)) {
      return fail("expected 'query NAME TYPE PORT'");
    }
    saved_query = {*name, *type, port};
    if (!sameName(saved_query.name, query_.name) || saved_query.type != query_.type ||
        saved_query.port != query_.port) {
      return fail("saved for " + describeQuery(saved_query) + ", not " + describeQuery(query_));
    }
    for (;;) {
      if (!next(line)) return std::nullopt;
      fields = splitSpaces(line);
      if (!fields.empty() && fields[0] == "end") break;
      if (saved.targets.size() == kMaxStateTargets) {
        return fail("more than " + std::to_string(kMaxStateTargets) + " targets");
      }
      balance::Target target;
      if (!parseTarget(fields, target)) return std::nullopt;
      saved.targets.push_back(std::move(target));
    }
    if (fields.size() != 2 || parseNumber<size_t>(fields[1]) != saved.targets.size()) {
      return fail("end line does not say " + std::to_string(saved.targets.size()) + " targets");
    }
    if (pos_ != text_.size()) return fail("text after the end line");
    if (saved.targets.empty()) return fail("holds no target");
    balance::canonicalize(saved.targets);
    return saved;
  }

 private:
  std::nullopt_t fail(const std::string& why) {
    error_ = line_no_ > 0 ? "line " + std::to_string(line_no_) + ": " + why : why;
    return std::nullopt;
  }

  // The next complete line; false (with the error set) at the end of the text: a file that
  // stops before its end line was cut short.
  bool next(std::string_view& line) {
    const auto end = text_.find('\n', pos_);
    if (end == std::string_view::npos) {
      error_ = pos_ == text_.size() ? "truncated: ends before its end line"
                                    : "truncated: the last line has no newline";
      if (text_.empty()) error_ = "empty";
      return false;
    }
    line = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_no_;
    return true;
  }

  bool parseTarget(const std::vector<std::string_view>& fields, balance::Target& target) {
    if (fields.size() < 5 || fields[0] != "target") {
      fail("expected 'target PRIORITY WEIGHT NAME ENDPOINT...' or 'end COUNT'");
      return false;
    }
    if (fields.size() - 4 > kMaxStateEndpointsPerTarget) {
      fail("more than " + std::to_string(kMaxStateEndpointsPerTarget) + " endpoints");
      return false;
    }
    auto priority = parseNumber<uint16_t>(fields[1]);
    auto weight = parseNumber<uint16_t>(fields[2]);
    auto name = unescapeName(fields[3]);
    if (!priority || !weight) {
      fail("priority and weight must be numbers from 0 to 65535");
      return false;
    }
    if (!name || name->empty()) {
      fail("malformed target name");
      return false;
    }
    target.name = std::move(*name);
    target.priority = *priority;
    target.weight = *weight;
    for (size_t i = 4; i < fields.size(); ++i) {
      // Port 0 parses here and is dropped later by the target filter, with its reason logged.
      auto hp = net::parseHostPort(fields[i], /*allow_bare_port=*/false, /*min_port=*/0);
      if (!hp || !hp->address || !hp->port) {
        fail("'" + escapeName(fields[i].substr(0, 64)) + "' is not ADDR:PORT");
        return false;
      }
      target.endpoints.emplace_back(*hp->address, *hp->port);
    }
    return true;
  }

  std::string_view text_;
  const StateQuery& query_;
  std::string& error_;
  size_t pos_ = 0;
  size_t line_no_ = 0;
};

std::string errnoText(const char* what, const std::string& path, int e) {
  return std::string(what) + " " + path + ": " + std::strerror(e);
}

std::string directoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

StateQuery stateQueryOf(const config::Route& config) {
  StateQuery q{config.target, config.type, {}};
  q.port = config.type == config::RecordType::Srv ? config.port_override : config.target_port;
  return q;
}

std::string formatTimestamp(SystemClock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  const std::time_t secs = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buffer;
}

std::optional<SystemClock::time_point> parseTimestamp(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SS.mmmZ, digits where digits go.
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (text.size() != kShape.size()) return std::nullopt;
  for (size_t i = 0; i < kShape.size(); ++i) {
    const bool digit = text[i] >= '0' && text[i] <= '9';
    if (kShape[i] == 'd' ? !digit : text[i] != kShape[i]) return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) { return *parseNumber<int>(text.substr(at, len)); };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  // Years past 2200 would overflow system_clock's nanoseconds (they end in 2262).
  if (tm.tm_year < 70 || tm.tm_year > 300 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
      tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  const std::time_t secs = ::timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return SystemClock::time_point(std::chrono::seconds(secs) +
                                 std::chrono::milliseconds(num(20, 3)));
}

std::string formatStateFile(const std::vector<balance::Target>& targets, const StateQuery& query,
                            SystemClock::time_point saved_at) {
  std::string out = std::string(kStateMagic) + " " + std::to_string(kStateVersion) + "\n";
  out += "saved-at " + formatTimestamp(saved_at) + "\n";
  out += "query " + escapeName(query.name) + " " + config::toString(query.type) + " " +
         portText(query.port) + "\n";
  for (const auto& t : targets) {
    out += "target " + std::to_string(t.priority) + " " + std::to_string(t.weight) + " " +
           escapeName(t.name);
    for (const auto& ep : t.endpoints) out += " " + net::format(ep);
    out += "\n";
  }
  out += "end " + std::to_string(targets.size()) + "\n";
  return out;
}

std::optional<SavedTargets> parseStateFile(std::string_view text, const StateQuery& query,
                                           std::string& error) {
  return Parser(text, query, error).run();
}

LoadedState loadStateFile(const std::string& path, const StateQuery& query) {
  LoadedState out;
  net::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int e = errno;
    out.outcome = e == ENOENT ? LoadedState::Outcome::Missing : LoadedState::Outcome::Invalid;
    out.message = e == ENOENT ? "no such file" : std::string("cannot open: ") + std::strerror(e);
    return out;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    out.outcome = LoadedState::Outcome::Invalid;
    out.message = "not a regular file";
    return out;
  }
  std::string text;
  char buffer[16384];
  while (text.size() <= kMaxStateFileBytes) {  // one byte past the cap says "too large"
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.outcome = LoadedState::Outcome::Invalid;
      out.message = std::string("cannot read: ") + std::strerror(errno);
      return out;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  std::string error;
  auto saved = parseStateFile(text, query, error);
  if (!saved) {
    out.outcome = LoadedState::Outcome::Invalid;
    out.message = error;
    return out;
  }
  out.outcome = LoadedState::Outcome::Loaded;
  out.saved = std::move(*saved);
  return out;
}

std::string saveStateFile(const std::string& path, std::string_view text) {
  // Errors name the pattern, not the random name: the same failure reads the same each time
  // (the caller logs each distinct error once).
  const std::string pattern = path + ".XXXXXX";
  std::string temp = pattern;
  net::Fd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) return errnoText("create", pattern, errno);
  auto fail = [&](const char* what) {
    const int e = errno;
    ::unlink(temp.c_str());
    return errnoText(what, pattern, e);
  };
  // mkostemp makes it 0600; the targets are no secret, and operators read the file.
  if (::fchmod(fd.get(), 0644) != 0) return fail("chmod");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;
      return fail("write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::close(fd.release()) != 0) return fail("close");
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp.c_str());
    return errnoText("rename over", path, e);
  }
  // The rename itself lives in the directory: without this a crash may undo it.
  const auto dir = directoryOf(path);
  net::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0) return errnoText("fsync", dir, errno);
  return "";
}

}  // namespace edge::discovery
