#pragma once
// A message from any platform after its adapter verified it, and the reply
// that goes back. Adapters make ChatEvents; the pipeline makes OutboundMessages.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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
  std::string thread;      // empty: a new top-level message (see Adapter::post)
  std::string request_id;
  std::string reply_to;    // message_id of the ChatEvent this answers (empty: none)
  std::string text;        // plain text, always present and complete on its own
  // Set on an action's result: its name and ActionResult::data, so a platform
  // can render natively (Block Kit, Adaptive Cards, embeds). Optional to use.
  std::string action;
  nlohmann::json data;
  // Approval messages. A request has approval_id and no approval_outcome:
  // render Approve / Deny buttons. A decision (granted, denied, expired,
  // cancelled) has both: update the request message posted for approval_id
  // in place (buttons gone, outcome shown) where the platform can, and post
  // text in the thread as well.
  std::string approval_id;
  std::string approval_outcome;         // "granted", "denied", "expired", "cancelled"
  std::string approval_outcome_text;    // "approved by slack:T1:U2", for the updated message
  std::vector<Suggestion> suggestions;  // rendered as buttons where the platform can
};

}  // namespace opsgate
