#include "adapters/teams/cards.hpp"

#include "adapters/teams/activity.hpp"
#include "src/core/json_get.hpp"

namespace opsgate::adapters::teams {

namespace {

using nlohmann::json;

json card(json body, json actions) {
  json c = {{"type", "AdaptiveCard"},
            {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
            {"version", "1.5"},
            {"body", std::move(body)}};
  if (!actions.empty()) {
    c["actions"] = std::move(actions);
  }
  return c;
}

json text_blocks(const std::string& text_in) {
  const std::string text = inert_markdown(text_in);
  json blocks = json::array();
  std::size_t start = 0;
  bool first = true;
  // One block per paragraph keeps long results readable; the first is bold.
  while (start <= text.size() && blocks.size() < 40) {
    std::size_t end = text.find("\n\n", start);
    if (end == std::string::npos) {
      end = text.size();
    }
    const std::string part = text.substr(start, end - start);
    if (!part.empty()) {
      json block = {{"type", "TextBlock"}, {"text", part}, {"wrap", true}};
      if (first) {
        block["weight"] = "Bolder";
        first = false;
      }
      blocks.push_back(std::move(block));
    }
    start = end + 2;
  }
  return blocks;
}

// Data for the buttons: both Action.Execute (in value.action.data) and the
// Action.Submit fallback (the message's value) carry the same object.
json vote_data(const std::string& verb, const std::string& approval_id) {
  return {{"opsgate", verb}, {"id", approval_id}};
}

json execute_button(const std::string& title, const std::string& verb, json data, const char* style) {
  json fallback = {{"type", "Action.Submit"}, {"title", title}, {"data", data}};
  json button = {{"type", "Action.Execute"}, {"title", title}, {"verb", verb}, {"data", std::move(data)},
                 {"fallback", std::move(fallback)}};
  if (style != nullptr) {
    button["style"] = style;
  }
  return button;
}

json approval_buttons(const std::string& approval_id) {
  return json::array({execute_button("Approve", "approve", vote_data("approve", approval_id), "positive"),
                      execute_button("Deny", "deny", vote_data("deny", approval_id), "destructive")});
}

CardAction from_data(const std::string& verb_hint, const json& data) {
  if (!data.is_object()) {
    return {};
  }
  std::string verb = json_get::string_at(data, "opsgate");
  if (verb.empty()) {
    verb = verb_hint;
  }
  if (verb == "approve" || verb == "deny") {
    const auto id = data.find("id");
    if (id != data.end() && id->is_string() && !id->get<std::string>().empty()) {
      return {verb, id->get<std::string>()};
    }
    return {};
  }
  if (verb == "command") {
    const auto command = data.find("command");
    if (command != data.end() && command->is_string() && !command->get<std::string>().empty()) {
      return {verb, command->get<std::string>()};
    }
  }
  return {};
}

}  // namespace

std::string inert_markdown(std::string_view text) {
  static constexpr std::string_view kZeroWidthSpace = "\u200b";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    const std::string_view rest = text.substr(i + 1);
    if (text[i] == ']' && rest.starts_with("(")) {
      out += kZeroWidthSpace;  // [text](url) and ![alt](url) are no longer links or images
    } else if (text[i] == '<' && (rest.starts_with("at>") || rest.starts_with("at ") || rest.starts_with("AT>"))) {
      out += kZeroWidthSpace;  // <at>name</at> mention markup
    }
  }
  return out;
}

json result_card(const OutboundMessage& message) {
  json body = text_blocks(message.text);
  if (message.data.is_object()) {
    json facts = json::array();
    for (const auto& [key, value] : message.data.items()) {
      if (facts.size() >= 20) {
        break;
      }
      if (value.is_string()) {
        facts.push_back({{"title", key}, {"value", inert_markdown(value.get<std::string>())}});
      } else if (value.is_number() || value.is_boolean()) {
        facts.push_back({{"title", key}, {"value", value.dump()}});
      }
    }
    if (!facts.empty()) {
      body.push_back({{"type", "FactSet"}, {"facts", std::move(facts)}});
    }
  }
  json actions = json::array();
  for (const auto& suggestion : message.suggestions) {
    if (actions.size() >= 5) {
      break;
    }
    json data = {{"opsgate", "command"}, {"command", suggestion.command}};
    actions.push_back(execute_button(suggestion.label, "command", std::move(data), nullptr));
  }
  return card(std::move(body), std::move(actions));
}

json approval_card(const std::string& text, const std::string& approval_id) {
  return card(text_blocks(text), approval_buttons(approval_id));
}

json decided_card(const std::string& text, const std::string& outcome, const std::string& outcome_text) {
  json body = text_blocks(text);
  const bool good = outcome == "granted";
  const std::string mark = good ? "✅ " : outcome == "denied" ? "🚫 " : "⌛ ";
  body.push_back({{"type", "TextBlock"},
                  {"text", inert_markdown(mark + outcome + (outcome_text.empty() ? "" : ": " + outcome_text))},
                  {"wrap", true},
                  {"weight", "Bolder"},
                  {"color", good ? "Good" : "Attention"}});
  return card(std::move(body), json::array());
}

json status_card(const std::string& text, const std::string& approval_id, const std::string& status) {
  json body = text_blocks(text);
  body.push_back({{"type", "TextBlock"}, {"text", inert_markdown(status)}, {"wrap", true}, {"isSubtle", true}});
  return card(std::move(body), approval_buttons(approval_id));
}

json message_activity(const std::string& text, const json& adaptive_card, const std::string& reply_to_id) {
  json activity = {{"type", "message"}, {"text", text}, {"textFormat", "plain"}};
  if (adaptive_card.is_object()) {
    json with_fallback = adaptive_card;
    with_fallback["fallbackText"] = text;
    activity["attachments"] = json::array({{{"contentType", kCardContentType}, {"content", std::move(with_fallback)}}});
  }
  if (!reply_to_id.empty()) {
    activity["replyToId"] = reply_to_id;
  }
  return activity;
}

CardAction card_action_from_invoke(const json& value) {
  if (!value.is_object() || !value.contains("action") || !value["action"].is_object()) {
    return {};
  }
  const json& action = value["action"];
  if (json_get::string_at(action, "type") != "Action.Execute") {
    return {};
  }
  return from_data(json_get::string_at(action, "verb"), json_get::object_at(action, "data"));
}

CardAction card_action_from_submit(const json& value) { return from_data("", value); }

}  // namespace opsgate::adapters::teams
