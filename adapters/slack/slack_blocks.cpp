#include "adapters/slack/slack_blocks.hpp"
#include "src/core/text.hpp"

#include <cstdio>
#include <regex>
#include <vector>


namespace opsgate::adapters::slack {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxButtonText = 75;

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(pos));
      break;
    }
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

json mrkdwn(std::string text) { return {{"type", "mrkdwn"}, {"text", std::move(text)}}; }
json plain(std::string text) { return {{"type", "plain_text"}, {"text", std::move(text)}, {"emoji", true}}; }
json section(std::string text) { return {{"type", "section"}, {"text", mrkdwn(std::move(text))}}; }

json button(std::string label, std::string action_id, std::string value, std::string style) {
  if (label.size() > kMaxButtonText) {
    label = std::string(opsgate::text::utf8_prefix(label, kMaxButtonText - 3)) + "…";
  }
  json b = {{"type", "button"}, {"action_id", std::move(action_id)}, {"value", std::move(value)}, {"text", plain(std::move(label))}};
  if (!style.empty()) {
    b["style"] = std::move(style);
  }
  return b;
}

std::string outcome_icon(std::string_view outcome) {
  if (outcome == "granted") return "✅";
  if (outcome == "denied") return "🚫";
  if (outcome == "expired") return "⌛";
  return "✖";
}

// The code-block budget: ``` fences and the truncation line must fit too.
constexpr std::size_t kCodeBudget = kMaxSectionText - 64;

}  // namespace

std::string escape_mrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '&') {
      // Idempotent: an entity escaped before (the text of a posted message,
      // as a click hands it back) is kept, not shown as "&amp;lt;".
      const std::string_view rest = text.substr(i);
      const bool entity = rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;");
      out += entity ? "&" : "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string truncate_lines(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) {
    return std::string(text);
  }
  const auto lines = split_lines(text);
  std::string out;
  std::size_t kept = 0;
  for (const auto line : lines) {
    const std::size_t need = line.size() + (out.empty() ? 0 : 1);
    if (out.size() + need > limit) {
      break;
    }
    out += out.empty() ? "" : "\n";
    out += line;
    ++kept;
  }
  if (kept == 0) {
    // One enormous line: keep its beginning, without cutting an &entity; in two.
    out = std::string(opsgate::text::utf8_prefix(lines.front(), limit));
    const std::size_t amp = out.rfind('&');
    if (amp != std::string::npos && out.find(';', amp) == std::string::npos && out.size() - amp < 6) {
      out.resize(amp);
    }
    kept = 1;
  }
  const std::size_t more = lines.size() - kept;
  if (more > 0) {
    out += "\n… " + std::to_string(more) + " more line" + (more == 1 ? "" : "s");
  } else {
    out += "…";
  }
  return out;
}

std::string mention_slack_principals(std::string text) {
  static const std::regex kPrincipal("slack:[A-Z0-9]+:([UW][A-Z0-9]+)");
  return std::regex_replace(text, kPrincipal, "<@$1>");
}

json render_result(const OutboundMessage& message) {
  json blocks = json::array();
  const std::string_view text = message.text;
  const std::size_t newline = text.find('\n');
  const std::string_view head = text.substr(0, newline);
  const std::string_view rest = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

  // Escaped first, then cut: &lt; and friends count against Slack's limits.
  blocks.push_back(section(truncate_lines(escape_mrkdwn(head), kMaxSectionText - 200)));
  const json& data = message.data;
  if (data.is_object() && data.contains("current_text") && data["current_text"].is_string()) {
    // Metric values as fields: now, min, max.
    json fields = json::array();
    fields.push_back(mrkdwn("*Now*\n" + escape_mrkdwn(data["current_text"].get<std::string>())));
    for (const char* key : {"min", "max"}) {
      if (data.contains(key) && data[key].is_number()) {
        char value[64];
        std::snprintf(value, sizeof value, "%g", data[key].get<double>());
        fields.push_back(mrkdwn(std::string("*") + (key[1] == 'i' ? "Min" : "Max") + "*\n" + value));
      }
    }
    blocks.push_back({{"type", "section"}, {"fields", std::move(fields)}});
  }
  if (!rest.empty()) {
    // Log lines and listings keep their layout in a code block; the
    // sparkline's block characters line up there too.
    const std::string body = truncate_lines(escape_mrkdwn(rest), kCodeBudget);
    blocks.push_back(section("```" + body + "```"));
  }
  if (!message.suggestions.empty()) {
    json elements = json::array();
    for (std::size_t i = 0; i < message.suggestions.size() && i < kMaxButtons; ++i) {
      const auto& s = message.suggestions[i];
      elements.push_back(button(s.label, "suggest:" + std::to_string(i), s.command, ""));
    }
    blocks.push_back({{"type", "actions"}, {"block_id", "suggestions"}, {"elements", std::move(elements)}});
  }
  // The fallback text is mrkdwn too (notifications, old clients): escaped like the blocks.
  return {{"text", truncate_lines(escape_mrkdwn(text), kMaxSectionText)}, {"blocks", std::move(blocks)}};
}

json render_approval_request(const OutboundMessage& message) {
  const std::string text = truncate_lines(escape_mrkdwn(message.text), kMaxSectionText - 200);
  json blocks = json::array();
  blocks.push_back(section(text));
  blocks.push_back({{"type", "actions"},
                    {"block_id", "approval:" + message.approval_id},
                    {"elements", json::array({button("Approve", "approve", message.approval_id, "primary"),
                                              button("Deny", "deny", message.approval_id, "danger")})}});
  return {{"text", text}, {"blocks", std::move(blocks)}};
}

json render_approval_decided(std::string_view request_text, const OutboundMessage& message) {
  const std::string request = truncate_lines(escape_mrkdwn(request_text), kMaxSectionText - 200);
  const std::string outcome = outcome_icon(message.approval_outcome) + " " +
                              (message.approval_outcome_text.empty() ? message.approval_outcome : message.approval_outcome_text);
  const std::string shown_outcome = mention_slack_principals(truncate_lines(escape_mrkdwn(outcome), 1000));
  json blocks = json::array();
  blocks.push_back(section(request));
  blocks.push_back({{"type", "context"}, {"elements", json::array({mrkdwn(shown_outcome)})}});
  return {{"text", request + "\n" + shown_outcome}, {"blocks", std::move(blocks)}};
}

}  // namespace opsgate::adapters::slack
