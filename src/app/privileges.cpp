#include "app/privileges.h"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

namespace edge::app {
namespace {

std::string errnoText(int e) {
  return std::strerror(e);
}

// A whole decimal number that fits an id (uid_t/gid_t, excluding -1, which means "unchanged").
std::optional<uint32_t> parseId(const std::string& text) {
  uint32_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  if (value == std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return value;
}

struct User {
  std::string name;
  uid_t uid;
  gid_t gid;
};

// getpw*_r / getgr*_r with a buffer grown on ERANGE. `call` runs the function and copies what
// it needs out of the buffer (the strings point into it). Returns the function's result.
template <class Call>
int withBuffer(Call&& call) {
  std::vector<char> buf(4096);
  while (true) {
    const int r = call(buf);
    if (r != ERANGE || buf.size() >= (1u << 20)) return r;
    buf.resize(buf.size() * 2);
  }
}

std::optional<User> lookUpUser(const std::string& text, std::string& error) {
  std::optional<User> user;
  const auto copy = [&](const passwd* found) {
    if (found != nullptr) user = User{found->pw_name, found->pw_uid, found->pw_gid};
  };
  int r = withBuffer([&](std::vector<char>& buf) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwnam_r(text.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == 0) copy(found);
    return rc;
  });
  if (user) return user;
  const auto id = parseId(text);
  if (!id) {
    error = r != 0 ? fmt::format("--user '{}': cannot look it up: {}", text, errnoText(r))
                   : fmt::format("--user '{}': no such user", text);
    return std::nullopt;
  }
  r = withBuffer([&](std::vector<char>& buf) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = ::getpwuid_r(static_cast<uid_t>(*id), &pw, buf.data(), buf.size(), &found);
    if (rc == 0) copy(found);
    return rc;
  });
  if (user) return user;
  // A uid without a passwd entry (common in containers): usable, but it has no primary group.
  return User{text, static_cast<uid_t>(*id), static_cast<gid_t>(-1)};
}

std::optional<gid_t> lookUpGroup(const std::string& text, std::string& error) {
  std::optional<gid_t> gid;
  const int r = withBuffer([&](std::vector<char>& buf) {
    group gr{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(text.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc == 0 && found != nullptr) gid = found->gr_gid;
    return rc;
  });
  if (gid) return gid;
  if (const auto id = parseId(text)) return static_cast<gid_t>(*id);
  error = r != 0 ? fmt::format("--group '{}': cannot look it up: {}", text, errnoText(r))
                 : fmt::format("--group '{}': no such group", text);
  return std::nullopt;
}

// Threads of ours a process may have when it drops: the main one, and under ThreadSanitizer
// the sanitizer's background thread (started with the first thread, and again in a child forked
// after that), which never runs our code.
#if defined(__SANITIZE_THREAD__)
constexpr int kThreadsAllowed = 2;
#else
constexpr int kThreadsAllowed = 1;
#endif

// Threads in this process, from /proc (0 when it cannot be read).
int threadCount() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return 0;
}

// Capabilities: exactly CAP_NET_BIND_SERVICE permitted and effective, nothing inheritable.
bool setOnlyBindService(std::string& error) {
  cap_t caps = ::cap_init();  // everything clear
  if (caps == nullptr) {
    error = "cap_init: " + errnoText(errno);
    return false;
  }
  const cap_value_t keep[] = {CAP_NET_BIND_SERVICE};
  bool ok = ::cap_set_flag(caps, CAP_PERMITTED, 1, keep, CAP_SET) == 0 &&
            ::cap_set_flag(caps, CAP_EFFECTIVE, 1, keep, CAP_SET) == 0;
  if (ok && ::cap_set_proc(caps) != 0) ok = false;
  const int e = errno;
  ::cap_free(caps);
  if (!ok) {
    error = "setting the capabilities to CAP_NET_BIND_SERVICE: " + errnoText(e);
    return false;
  }
  // Cannot hold anything once the inheritable set is empty; cleared anyway for clarity.
  if (CAP_AMBIENT_SUPPORTED()) ::cap_reset_ambient();
  return true;
}

// What the process holds now is exactly what dropPrivileges promises.
bool verify(const Identity& id, std::string& error) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0) {
    error = "getresuid/getresgid: " + errnoText(errno);
    return false;
  }
  if (ruid != id.uid || euid != id.uid || suid != id.uid || rgid != id.gid || egid != id.gid ||
      sgid != id.gid) {
    error = fmt::format("ids are uid {}/{}/{} gid {}/{}/{} after the switch, not {} and {}", ruid,
                        euid, suid, rgid, egid, sgid, id.uid, id.gid);
    return false;
  }
  gid_t groups[2] = {};
  const int n = ::getgroups(2, groups);
  if (n < 0 || n > 1 || (n == 1 && groups[0] != id.gid)) {
    error = "supplementary groups are still set after the switch";
    return false;
  }
  cap_t caps = ::cap_get_proc();
  if (caps == nullptr) {
    error = "cap_get_proc: " + errnoText(errno);
    return false;
  }
  std::string extra;
  for (cap_value_t c = 0; c <= static_cast<cap_value_t>(::cap_max_bits()) - 1; ++c) {
    for (const auto flag : {CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE}) {
      cap_flag_value_t v = CAP_CLEAR;
      if (::cap_get_flag(caps, c, flag, &v) != 0) continue;
      const bool want = c == CAP_NET_BIND_SERVICE && flag != CAP_INHERITABLE;
      if ((v == CAP_SET) != want) {
        char* name = ::cap_to_name(c);
        extra += fmt::format(" {}{}", want ? "missing " : "", name ? name : "?");
        ::cap_free(name);
      }
    }
  }
  ::cap_free(caps);
  if (!extra.empty()) {
    error = "capabilities are not exactly CAP_NET_BIND_SERVICE after the switch:" + extra;
    return false;
  }
  if (::setuid(0) == 0) {
    error = "setuid(0) still succeeds after the switch";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Identity> resolveIdentity(const std::optional<std::string>& user,
                                        const std::optional<std::string>& group,
                                        std::string& error) {
  error.clear();
  if (!user) {
    if (group) error = fmt::format("--group '{}' needs --user", *group);
    return std::nullopt;
  }
  const auto u = lookUpUser(*user, error);
  if (!u) return std::nullopt;
  Identity id{u->name, u->uid, u->gid};
  if (group) {
    const auto g = lookUpGroup(*group, error);
    if (!g) return std::nullopt;
    id.gid = *g;
  } else if (u->gid == static_cast<gid_t>(-1)) {
    error =
        fmt::format("--user '{}': uid {} has no passwd entry, so no primary group: give --group",
                    *user, u->uid);
    return std::nullopt;
  }
  if (id.uid == 0) {
    error = fmt::format("--user '{}': that is root, which keeps every privilege", *user);
    return std::nullopt;
  }
  return id;
}

bool dropPrivileges(const Identity& id, std::string& error) {
  const auto fail = [&](const std::string& why) {
    error = fmt::format("cannot switch to {}: {}", describe(id), why);
    return false;
  };
  if (id.uid == 0) return fail("that is root");
  if (const int threads = threadCount(); threads > kThreadsAllowed)
    return fail(fmt::format("{} threads run already (capabilities are per thread)", threads));
  // Keep the permitted capabilities across the uid change, to keep one of them afterwards.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return fail("PR_SET_KEEPCAPS: " + errnoText(errno));
  const gid_t groups[] = {id.gid};
  if (::setgroups(1, groups) != 0) return fail("setgroups: " + errnoText(errno));
  if (::setresgid(id.gid, id.gid, id.gid) != 0) return fail("setresgid: " + errnoText(errno));
  if (::setresuid(id.uid, id.uid, id.uid) != 0) return fail("setresuid: " + errnoText(errno));
  if (!setOnlyBindService(error)) return fail(error);
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
    return fail("PR_SET_KEEPCAPS: " + errnoText(errno));
  std::string why;
  if (!verify(id, why)) return fail(why);
  return true;
}

std::string describe(const Identity& id) {
  return fmt::format("user {} (uid {}, gid {})", id.user, id.uid, id.gid);
}

}  // namespace edge::app
