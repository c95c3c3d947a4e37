#pragma once
// What an action returns: text for people, data for machines, and follow-ups.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/chat_event.hpp"

namespace opsgate {

struct ActionResult {
  std::string summary;                  // plain text, shown in every platform
  nlohmann::json data = nlohmann::json::object();  // structured result for renderers and the audit log
  std::vector<Suggestion> suggestions;
  // A write that found its target already in the asked state and changed
  // nothing (a second restart in the same second): said so, audited as a no-op.
  bool noop = false;
};

}  // namespace opsgate
