#include "src/core/error.hpp"

namespace opsgate {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid_input: return "invalid_input";
    case Errc::not_found: return "not_found";
    case Errc::denied: return "denied";
    case Errc::conflict: return "conflict";
    case Errc::timeout: return "timeout";
    case Errc::unavailable: return "unavailable";
    case Errc::upstream: return "upstream";
    case Errc::storage: return "storage";
    case Errc::internal: return "internal";
  }
  return "internal";
}

}  // namespace opsgate
