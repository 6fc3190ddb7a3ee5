#pragma once
// The last known good target set on disk (--state-file), so a restart during a DNS outage can
// serve the targets it served before. Written atomically by discovery whenever the set changes;
// read once at start-up and used only if DNS does not answer then.
//
// Format (text, version 1), one item per line, each ending in '\n':
//   edge-connector-targets 1
//   saved-at 2026-11-25T15:05:27.142Z
//   query _sftp._tcp.example.internal srv -
//   target PRIORITY WEIGHT NAME ENDPOINT...
//   end COUNT
// NAME is escaped (bytes outside '!'..'~', and '\', as \DDD); ENDPOINT as net::format writes it;
// the query line names what was asked (name, type, and --target-port or --port-override, "-"
// for none) so a file saved for another question is never served; `end COUNT` (the number of
// target lines) catches a truncated file.
//
// The file read back is hostile input (anyone with write access to it, a full disk, a crash of
// another writer): the parser accepts only exactly this form within fixed caps and returns an
// error for anything else; it never throws. Endpoints are not filtered here: the caller passes
// them through the same filter as DNS answers. Pure functions, except the two that touch the
// file system (loadStateFile, saveStateFile), which any one thread may call.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balance/target.h"
#include "config/config.h"

namespace edge::discovery {

inline constexpr std::string_view kStateMagic = "edge-connector-targets";
inline constexpr int kStateVersion = 1;
inline constexpr size_t kMaxStateFileBytes = 1024 * 1024;
inline constexpr size_t kMaxStateTargets = 4096;
inline constexpr size_t kMaxStateEndpointsPerTarget = 1024;

// What the targets answered: the query line of the file.
struct StateQuery {
  std::string name;
  config::RecordType type = config::RecordType::Srv;
  std::optional<uint16_t> port;  // --target-port (A/AAAA) or --port-override (SRV)

  friend bool operator==(const StateQuery&, const StateQuery&) = default;
};

StateQuery stateQueryOf(const config::Route& config);

struct SavedTargets {
  std::vector<balance::Target> targets;  // canonical order
  std::chrono::system_clock::time_point saved_at;
};

std::string formatStateFile(const std::vector<balance::Target>& targets, const StateQuery& query,
                            std::chrono::system_clock::time_point saved_at);

// The saved targets, or nullopt with `error` saying what is wrong (first problem found, with
// its line number). A file for another query is an error too ("saved for ...").
std::optional<SavedTargets> parseStateFile(std::string_view text, const StateQuery& query,
                                           std::string& error);

// "2026-11-25T15:05:27.142Z" (UTC, milliseconds), as the file and the log write it.
std::string formatTimestamp(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parseTimestamp(std::string_view text);

struct LoadedState {
  enum class Outcome { Loaded, Missing, Invalid } outcome = Outcome::Missing;
  SavedTargets saved;   // Loaded only
  std::string message;  // Missing/Invalid: why (e.g. "truncated: no end line")
};

// Reads and parses `path`, reading at most kMaxStateFileBytes + 1 bytes.
LoadedState loadStateFile(const std::string& path, const StateQuery& query);

// Writes `text` to a new file in the directory of `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: a crash leaves the old file or the new one, never a mix. Returns "" on
// success, else what failed ("write /var/lib/x/state.ABC123: No space left on device").
std::string saveStateFile(const std::string& path, std::string_view text);

}  // namespace edge::discovery
