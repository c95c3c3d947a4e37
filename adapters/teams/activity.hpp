#pragma once
// The fields of an inbound Bot Framework Activity opsgate uses, read without
// exceptions from untrusted JSON, and the bot's mentions stripped from text. Pure.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace opsgate::adapters::teams {

struct Activity {
  std::string type;            // message, invoke, conversationUpdate, ...
  std::string id;
  std::string channel_id;      // "msteams"
  std::string service_url;
  std::string name;            // invoke name ("adaptiveCard/action")
  std::string from_id;         // 29:...
  std::string from_name;
  std::string aad_object_id;   // the identity for policy
  std::string recipient_id;    // 28:<app id>
  std::string conversation_id;
  std::string conversation_type;  // personal, groupChat, channel
  std::string tenant_id;
  std::string team_id;         // channelData.team.id (channels only)
  std::string channel;         // channelData.channel.id (channels only)
  std::string reply_to_id;
  std::string text;            // with the bot's mentions removed, trimmed
  bool mentioned = false;      // the bot was mentioned
  nlohmann::json value;        // button data
};

// nullopt-like: a default Activity with empty type when the body is not a JSON object.
Activity parse_activity(const nlohmann::json& body);

// Removes every mention entity's text whose mentioned.id is `bot_id`, then trims.
// Sets `mentioned` when one was found.
std::string strip_bot_mentions(std::string text, const nlohmann::json& entities, std::string_view bot_id, bool& mentioned);

}  // namespace opsgate::adapters::teams
