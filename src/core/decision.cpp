#include "src/core/decision.hpp"

namespace opsgate {

std::string_view to_string(Effect effect) {
  switch (effect) {
    case Effect::allow: return "allow";
    case Effect::deny: return "deny";
    case Effect::needs_approval: return "needs_approval";
  }
  return "deny";
}

}  // namespace opsgate
