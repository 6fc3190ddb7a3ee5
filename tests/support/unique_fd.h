// UniqueFd: the daemon's own move-only descriptor owner (header-only), reused by the helpers.
#pragma once

#include "net/fd.h"

namespace edge::test {

using UniqueFd = edge::net::Fd;

}  // namespace edge::test
