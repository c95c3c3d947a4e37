#pragma once
// A message from any platform after its adapter verified it, and the reply
// that goes back. Adapters make ChatEvents; the pipeline makes OutboundMessages.

#include <string>
#include <vector>

#include "src/core/principal.hpp"

namespace opsgate {

struct ChatEvent {
  std::string platform;    // "shell", "slack", "teams", "discord"
  std::string workspace;   // Slack team, Teams tenant, Discord guild
  std::string channel;
  std::string thread;      // thread or conversation the reply belongs in
  std::string message_id;  // the platform's id, for dedup of retries
  Principal principal;
  std::string text;
  bool addressed = false;  // a DM or a mention: answer even when not understood
};

// A suggested follow-up the platform may render as a button.
struct Suggestion {
  std::string label;    // "Roll back checkout"
  std::string command;  // "!rollback checkout prod": goes through policy like typed text
};

struct OutboundMessage {
  std::string platform;
  std::string channel;
  std::string thread;
  std::string request_id;
  std::string text;                     // plain text, always present
  std::string approval_id;              // set on approval requests: render approve/deny
  std::vector<Suggestion> suggestions;  // rendered as buttons where the platform can
};

}  // namespace opsgate
