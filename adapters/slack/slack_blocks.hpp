#pragma once
// Block Kit for opsgate's replies: results (sections, code blocks for log
// lines, fields for values, suggestion buttons), approval requests with
// Approve / Deny buttons, and the request once decided (buttons gone). Always
// with a plain `text` fallback, within Slack's limits. Pure functions.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/core/chat_event.hpp"

namespace opsgate::adapters::slack {

inline constexpr std::size_t kMaxSectionText = 3000;  // Slack: section text ≤ 3000 characters
inline constexpr std::size_t kMaxBlocks = 50;
inline constexpr std::size_t kMaxButtons = 5;          // suggestions shown (Slack allows 25 per block)

// {"text": ..., "blocks": [...]} for chat.postMessage / chat.update (without channel, ts).
nlohmann::json render_result(const OutboundMessage& message);
nlohmann::json render_approval_request(const OutboundMessage& message);
// The request message after the decision: its text, the outcome, no buttons.
nlohmann::json render_approval_decided(std::string_view request_text, const OutboundMessage& message);

// &, <, > escaped as Slack's mrkdwn needs (so <!channel>, <!here>, <@U…> and links in
// echoed text stay text); an existing &amp; &lt; &gt; is kept (idempotent).
std::string escape_mrkdwn(std::string_view text);

// Keeps whole lines up to `limit` bytes (and valid UTF-8), then "… N more lines".
std::string truncate_lines(std::string_view text, std::size_t limit);

// "approved by slack:T1:U2" -> "approved by <@U2>" (escaped text in, mrkdwn out).
std::string mention_slack_principals(std::string text);

}  // namespace opsgate::adapters::slack
