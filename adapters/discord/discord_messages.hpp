#pragma once
// Discord's wire format as opsgate uses it: inbound interactions and gateway
// messages turned into ChatEvents, outbound text split to Discord's limits,
// approval buttons. Pure functions; any thread; untrusted input never throws.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/chat_event.hpp"

namespace opsgate::adapters::discord {

inline constexpr std::size_t kMaxContent = 2000;  // characters per message

// Interaction types and callback types (spec: Interactions endpoint).
enum InteractionType { kPing = 1, kApplicationCommand = 2, kMessageComponent = 3 };
enum CallbackType { kPong = 1, kChannelMessage = 4, kDeferredChannelMessage = 5, kDeferredUpdate = 6, kUpdateMessage = 7 };
inline constexpr int kEphemeral = 64;

// The fields of an interaction opsgate reads.
struct Interaction {
  int type = 0;
  std::string id;
  std::string application_id;
  std::string token;
  std::string guild_id;    // empty in DMs
  std::string channel_id;
  std::string user_id;     // member.user.id in a guild, user.id in a DM
  std::string user_name;
  std::vector<std::string> roles;  // member.roles
  std::string command_name;        // application command
  std::string command_text;        // its `text` option (or all string options joined)
  std::string custom_id;           // component
  std::string message_id;          // the message holding the component
  std::string message_content;
};

// nullopt for invalid JSON or a body without a numeric type.
std::optional<Interaction> parse_interaction(std::string_view body);

// discord:<user-id>, groups discord:role:<role-id> (the policy binds them).
Principal principal_of(std::string_view user_id, std::string_view user_name, const std::vector<std::string>& roles);

// "approve:<id>" / "deny:<id>".
struct ButtonVote {
  bool approve = false;
  std::string approval_id;
};
std::optional<ButtonVote> parse_custom_id(std::string_view custom_id);

// A MESSAGE_CREATE dispatch addressed to the bot (a DM, or a mention of
// bot_user_id), as a ChatEvent with the mention removed; nullopt for anything
// else (other bots, itself, messages not addressed to it).
std::optional<ChatEvent> gateway_message_event(const nlohmann::json& d, std::string_view bot_user_id);

// Always sent: echoed text can never ping @everyone, roles or users.
nlohmann::json no_mentions();

// Splits at line breaks where it can, else at a UTF-8 character boundary,
// into pieces of at most `limit` bytes (bytes ≤ characters, so always within
// Discord's character limit).
std::vector<std::string> split_content(std::string_view text, std::size_t limit = kMaxContent);

// The Approve / Deny action row for an approval request.
nlohmann::json approval_components(std::string_view approval_id);

// Mentions in echoed text made inert: a zero-width space after the '@' of
// @everyone and @here, and after the '<' of <@id>, <@!id>, <@&role>, <#channel>,
// so they render as text (no_mentions already stops the pings).
std::string neutralise_mentions(std::string_view text);

// neutralise_mentions, then "discord:150..." -> "<@150...>" (rendered as a
// name, never pinging: see no_mentions); other principals unchanged.
std::string mention_principals(std::string text);

// The line that replaces the buttons once an approval is decided.
std::string outcome_line(std::string_view outcome, std::string_view outcome_text);

// Outbound JSON: invalid UTF-8 in chat text is replaced, never thrown on.
std::string dump(const nlohmann::json& value);

}  // namespace opsgate::adapters::discord
