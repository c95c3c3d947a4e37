#pragma once
// Who sent a message, as the platform vouches for it. The policy engine sees
// only this (never message text), so nothing here is ever parsed from chat.

#include <string>
#include <vector>

namespace opsgate {

struct Principal {
  std::string id;            // "platform:user", e.g. "shell:alice", "slack:T1:U0ALICE"
  std::string display_name;  // for replies only, never for decisions
  std::vector<std::string> groups;  // platform-vouched groups, e.g. "slack:usergroup:S1"
};

}  // namespace opsgate
