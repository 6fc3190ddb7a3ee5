#pragma once
// Switching from root to an unprivileged user after the listeners are bound (`--user`,
// `--group`), keeping only CAP_NET_BIND_SERVICE so a reload can still bind a port below 1024.

#include <sys/types.h>

#include <optional>
#include <string>

namespace edge::app {

struct Identity {
  std::string user;  // the passwd name, or the number when the uid has no passwd entry
  uid_t uid = 0;
  gid_t gid = 0;
};

// The identity `user` and `group` name (each a name or a number). The group defaults to the
// user's primary group. nullopt with `error` empty when neither is given (nothing to switch
// to); nullopt with `error` set for an unknown name, a group without a user, a uid without a
// passwd entry and no group, or root (which would keep every privilege).
std::optional<Identity> resolveIdentity(const std::optional<std::string>& user,
                                        const std::optional<std::string>& group,
                                        std::string& error);

// Becomes `identity` for good: supplementary groups = {gid}, real/effective/saved gid and uid
// = the target's, capabilities = CAP_NET_BIND_SERVICE permitted and effective, nothing
// inheritable or ambient; then checks all of it (and that setuid(0) fails). Needs root, and
// must run before any other thread exists (capabilities are per thread; it refuses when the
// process has more than one). False with `error` set on any failure: the caller must not go
// on running as root.
bool dropPrivileges(const Identity& identity, std::string& error);

// "user NAME (uid U, gid G)", for the start-up log line.
std::string describe(const Identity& identity);

}  // namespace edge::app
