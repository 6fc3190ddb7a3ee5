#pragma once
// --target is queried as given, for ever: a name DNS can never answer must stop start-up, and
// since the name is logged on every refresh, it must be plain text (no newline forging lines).

#include <optional>
#include <string>
#include <string_view>

namespace edge::config {

// Why `name` is not a name to discover, or nullopt when it is one. Accepted: labels of 1-63
// ASCII letters, digits, '-' and '_' (SRV names are `_service._proto.name`; '_' appears in
// real service discovery names), no label starting or ending with '-' (no hostname does, and
// a leading '-' would read as a flag), at most 253 bytes, one optional trailing dot, and not
// an all-digit last label (an IP address is not something to discover).
std::optional<std::string> dnsNameProblem(std::string_view name);

}  // namespace edge::config
