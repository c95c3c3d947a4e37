#include "adapters/slack/slack_inbound.hpp"
#include "src/core/json_get.hpp"
#include "src/core/text.hpp"

#include <cctype>


namespace opsgate::adapters::slack {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxText = 4000;          // a chat request is a sentence, not a document
constexpr std::size_t kMaxSuggestionValue = 500;

const json& child(const json& object, const char* key) {
  static const json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

SlackInbound ignored(std::string reason) {
  SlackInbound in;
  in.reason = std::move(reason);
  return in;
}

}  // namespace

std::string strip_mentions(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find("<@", pos);
    if (start == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    const std::size_t close = text.find('>', start);
    if (close == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, start - pos));
    pos = close + 1;
  }
  return std::string(opsgate::text::trim(out));
}

bool plausible_approval_id(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (const char c : id) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
      return false;
    }
  }
  return true;
}

SlackInbound parse_event(const json& body) {
  if (!body.is_object()) {
    return ignored("not a JSON object");
  }
  const std::string type = json_get::string_at(body, "type");
  if (type == "url_verification") {
    SlackInbound in;
    in.kind = SlackInbound::Kind::url_verification;
    in.challenge = json_get::string_at(body, "challenge");
    return in;
  }
  if (type != "event_callback") {
    return ignored("envelope type '" + type + "'");
  }
  const json& event = child(body, "event");
  const std::string event_type = json_get::string_at(event, "type");
  if (event.contains("bot_id") || !json_get::string_at(event, "subtype").empty()) {
    return ignored("a bot's message or a message subtype (" + json_get::string_at(event, "subtype") + ")");
  }
  std::string bot_user;
  for (const auto& a : child(body, "authorizations").is_array() ? child(body, "authorizations") : json::array()) {
    if (a.is_object() && a.value("is_bot", false)) {
      bot_user = json_get::string_at(a, "user_id");
    }
  }
  SlackInbound in;
  in.event_id = json_get::string_at(body, "event_id");
  in.team = json_get::string_at(body, "team_id");
  in.user = json_get::string_at(event, "user");
  in.channel = json_get::string_at(event, "channel");
  in.message_id = json_get::string_at(event, "ts");
  in.thread = json_get::string_at(event, "thread_ts").empty() ? in.message_id : json_get::string_at(event, "thread_ts");
  if (in.user.empty() || in.channel.empty() || in.team.empty() || in.message_id.empty()) {
    return ignored("event without user, channel, team or ts");
  }
  if (!bot_user.empty() && in.user == bot_user) {
    return ignored("the bot's own message");
  }
  if (event_type == "app_mention") {
    in.addressed = true;
  } else if (event_type == "message" && (json_get::string_at(event, "channel_type") == "im" || in.channel.front() == 'D')) {
    in.addressed = true;  // a direct message is always addressed to opsgate
  } else {
    return ignored("event type '" + event_type + "' outside a DM");
  }
  std::string text = json_get::string_at(event, "text");
  if (text.size() > kMaxText) {
    return ignored("message longer than 4000 bytes");
  }
  in.text = strip_mentions(text);
  in.kind = SlackInbound::Kind::message;
  return in;
}

std::map<std::string, std::string> fields_of(const json& object) {
  std::map<std::string, std::string> fields;
  if (!object.is_object()) {
    return fields;
  }
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) {
      fields[key] = value.get<std::string>();
    }
  }
  return fields;
}

SlackInbound parse_slash_command(const std::map<std::string, std::string>& fields) {
  const auto get = [&fields](const char* key) {
    const auto it = fields.find(key);
    return it == fields.end() ? std::string{} : it->second;
  };
  SlackInbound in;
  in.team = get("team_id");
  in.user = get("user_id");
  in.channel = get("channel_id");
  in.message_id = get("trigger_id");
  if (in.team.empty() || in.user.empty() || in.channel.empty()) {
    return ignored("slash command without team_id, user_id or channel_id");
  }
  const std::string text = get("text");
  if (text.size() > kMaxText) {
    return ignored("slash command text longer than 4000 bytes");
  }
  // `/ops` alone asks for help; the rest is what a mention would say.
  in.text = text.empty() ? "help" : strip_mentions(text);
  in.addressed = true;
  in.slash_command = true;
  in.kind = SlackInbound::Kind::message;
  return in;
}

SlackInbound parse_interaction(const json& payload) {
  if (!payload.is_object() || json_get::string_at(payload, "type") != "block_actions") {
    return ignored("interaction type '" + json_get::string_at(payload, "type") + "'");
  }
  const json& user = child(payload, "user");
  const json& message = child(payload, "message");
  const json& container = child(payload, "container");
  SlackInbound in;
  in.user = json_get::string_at(user, "id");
  // The clicker's own team, as events name it (the envelope's team_id): on
  // Enterprise Grid `team.id` is the workspace the click happened in, which
  // would give one person a second principal.
  in.team = json_get::string_at(user, "team_id");
  if (in.team.empty()) {
    in.team = json_get::string_at(child(payload, "team"), "id");
  }
  in.channel = json_get::string_at(child(payload, "channel"), "id");
  if (in.channel.empty()) {
    in.channel = json_get::string_at(container, "channel_id");
  }
  const std::string message_ts = json_get::string_at(message, "ts").empty() ? json_get::string_at(container, "message_ts") : json_get::string_at(message, "ts");
  in.thread = json_get::string_at(message, "thread_ts").empty() ? message_ts : json_get::string_at(message, "thread_ts");
  in.message_id = json_get::string_at(payload, "trigger_id");
  if (in.user.empty() || in.team.empty() || in.channel.empty() || message_ts.empty()) {
    return ignored("block_actions without user, team, channel or message");
  }
  const json& actions = child(payload, "actions");
  if (!actions.is_array() || actions.empty()) {
    return ignored("block_actions without actions");
  }
  const json& action = actions.front();
  const std::string action_id = json_get::string_at(action, "action_id");
  const std::string value = json_get::string_at(action, "value");
  if (action_id == "approve" || action_id == "deny") {
    if (!plausible_approval_id(value)) {
      return ignored("approval button with an implausible value");
    }
    // The value only names the approval; the vote is checked against the
    // clicking user's verified identity by the approval workflow.
    in.text = "!" + action_id + " " + value;
    in.approval_id = value;
    in.approval_message_ts = message_ts;
    in.approval_message_text = json_get::string_at(message, "text");
  } else if (action_id.rfind("suggest", 0) == 0) {
    if (value.empty() || value.size() > kMaxSuggestionValue) {
      return ignored("suggestion button with an empty or long value");
    }
    in.text = value;  // goes through parsing and policy like typed text
  } else {
    return ignored("unknown action_id '" + action_id + "'");
  }
  in.addressed = true;
  in.kind = SlackInbound::Kind::message;
  return in;
}

}  // namespace opsgate::adapters::slack
