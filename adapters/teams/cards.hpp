#pragma once
// Adaptive Cards (1.5) for Teams: results, approval requests with
// Action.Execute Approve / Deny (Action.Submit as the fallback for clients
// without Universal Actions), and the decided card without buttons. Pure.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/chat_event.hpp"

namespace opsgate::adapters::teams {

inline constexpr const char* kCardContentType = "application/vnd.microsoft.card.adaptive";

// Teams renders Markdown in card text: echoed text with [label](url), ![](url)
// or <at>…</at> would show a disguised link, an image or a mention. A zero-width
// space after "]" before "(" and after "<" of "<at" keeps them plain text.
std::string inert_markdown(std::string_view text);

// A result: the text as TextBlocks, scalar fields of `data` as a FactSet,
// suggestions as Action.Execute buttons (verb "command").
nlohmann::json result_card(const OutboundMessage& message);

// An approval request: the text and Approve / Deny buttons carrying the id.
nlohmann::json approval_card(const std::string& text, const std::string& approval_id);

// The approval card once decided: same text, the outcome, no buttons.
nlohmann::json decided_card(const std::string& text, const std::string& outcome, const std::string& outcome_text);

// The approval card with a status line under it, buttons kept (answer to a vote click).
nlohmann::json status_card(const std::string& text, const std::string& approval_id, const std::string& status);

// A message activity: text (the fallback for clients without cards) and, when
// `card` is an object, the card as an attachment; replyToId when given.
nlohmann::json message_activity(const std::string& text, const nlohmann::json& card, const std::string& reply_to_id);

// What a button click asked for: the verb ("approve", "deny", "command") and
// its argument (approval id or command text). Empty verb when not ours.
struct CardAction {
  std::string verb;
  std::string argument;
};
// From an Action.Execute invoke's value ({action:{verb,data}}) or an
// Action.Submit message's value (the data itself).
CardAction card_action_from_invoke(const nlohmann::json& value);
CardAction card_action_from_submit(const nlohmann::json& value);

}  // namespace opsgate::adapters::teams
