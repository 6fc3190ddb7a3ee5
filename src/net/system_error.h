#pragma once
// An errno value as a std::error_code, for the places that call the kernel directly.

#include <system_error>

namespace edge::net {

inline std::error_code systemError(int e) {
  return {e, std::system_category()};
}

}  // namespace edge::net
