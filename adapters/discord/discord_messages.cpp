#include "adapters/discord/discord_messages.hpp"
#include "src/core/text.hpp"
#include "src/core/json_get.hpp"

#include <cctype>
#include <regex>


namespace opsgate::adapters::discord {

using nlohmann::json;

namespace {

const json& obj_at(const json& object, std::string_view key) {
  static const json kNull;
  if (!object.is_object()) {
    return kNull;
  }
  const auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::vector<std::string> string_array(const json& value) {
  std::vector<std::string> out;
  if (!value.is_array()) {
    return out;
  }
  for (const auto& item : value) {
    if (item.is_string()) {
      out.push_back(item.get<std::string>());
    }
  }
  return out;
}

}  // namespace

std::optional<Interaction> parse_interaction(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return std::nullopt;
  }
  const auto type = doc.find("type");
  if (type == doc.end() || !type->is_number_integer()) {
    return std::nullopt;
  }
  Interaction in;
  in.type = type->get<int>();
  in.id = json_get::string_at(doc, "id");
  in.application_id = json_get::string_at(doc, "application_id");
  in.token = json_get::string_at(doc, "token");
  in.guild_id = json_get::string_at(doc, "guild_id");
  in.channel_id = json_get::string_at(doc, "channel_id");
  if (in.channel_id.empty()) {
    in.channel_id = json_get::string_at(obj_at(doc, "channel"), "id");
  }
  // In a guild the invoker is member.user and the roles are the member's;
  // in a DM (no guild_id) the invoker is `user` and there are no roles: a
  // `member` object in a DM is ignored, so no privilege comes from a DM.
  static const json kNoMember;
  const json& member = in.guild_id.empty() ? kNoMember : obj_at(doc, "member");
  const json& user = in.guild_id.empty() ? obj_at(doc, "user") : obj_at(member, "user");
  in.user_id = json_get::string_at(user, "id");
  in.user_name = json_get::string_at(user, "global_name");
  if (in.user_name.empty()) {
    in.user_name = json_get::string_at(user, "username");
  }
  in.roles = string_array(obj_at(member, "roles"));
  const json& data = obj_at(doc, "data");
  in.command_name = json_get::string_at(data, "name");
  const json& options = obj_at(data, "options");
  if (options.is_array()) {
    for (const auto& option : options) {
      const json& value = obj_at(option, "value");
      if (value.is_string()) {
        in.command_text += (in.command_text.empty() ? "" : " ") + value.get<std::string>();
      }
    }
  }
  in.custom_id = json_get::string_at(data, "custom_id");
  const json& message = obj_at(doc, "message");
  in.message_id = json_get::string_at(message, "id");
  in.message_content = json_get::string_at(message, "content");
  return in;
}

Principal principal_of(std::string_view user_id, std::string_view user_name, const std::vector<std::string>& roles) {
  Principal p;
  p.id = "discord:" + std::string(user_id);
  p.display_name = user_name.empty() ? p.id : std::string(user_name);
  for (const auto& role : roles) {
    p.groups.push_back("discord:role:" + role);
  }
  return p;
}

std::optional<ButtonVote> parse_custom_id(std::string_view custom_id) {
  for (const auto& [prefix, approve] : {std::pair<std::string_view, bool>{"approve:", true}, {"deny:", false}}) {
    if (custom_id.substr(0, prefix.size()) == prefix && custom_id.size() > prefix.size()) {
      const std::string id(custom_id.substr(prefix.size()));
      // Approval ids are plain tokens; anything else is not ours.
      for (const char c : id) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '_') {
          return std::nullopt;
        }
      }
      return ButtonVote{approve, id};
    }
  }
  return std::nullopt;
}

std::optional<ChatEvent> gateway_message_event(const json& d, std::string_view bot_user_id) {
  if (!d.is_object()) {
    return std::nullopt;
  }
  const json& author = obj_at(d, "author");
  const std::string author_id = json_get::string_at(author, "id");
  const json& is_bot = obj_at(author, "bot");
  if (author_id.empty() || author_id == bot_user_id || (is_bot.is_boolean() && is_bot.get<bool>())) {
    return std::nullopt;
  }
  std::string content = json_get::string_at(d, "content");
  const std::string guild_id = json_get::string_at(d, "guild_id");
  bool mentioned = false;
  const json& mentions = obj_at(d, "mentions");
  if (mentions.is_array()) {
    for (const auto& m : mentions) {
      mentioned = mentioned || (!bot_user_id.empty() && json_get::string_at(m, "id") == bot_user_id);
    }
  }
  if (!guild_id.empty() && !mentioned) {
    return std::nullopt;
  }
  for (const std::string& tag : {"<@" + std::string(bot_user_id) + ">", "<@!" + std::string(bot_user_id) + ">"}) {
    for (std::size_t pos = content.find(tag); pos != std::string::npos; pos = content.find(tag)) {
      content.erase(pos, tag.size());
    }
  }
  const auto first = content.find_first_not_of(" \t\r\n");
  const auto last = content.find_last_not_of(" \t\r\n");
  content = first == std::string::npos ? "" : content.substr(first, last - first + 1);

  ChatEvent event;
  event.platform = "discord";
  event.workspace = guild_id;
  event.channel = json_get::string_at(d, "channel_id");
  event.message_id = json_get::string_at(d, "id");
  event.thread = "message:" + event.message_id;
  const json& member = obj_at(d, "member");
  std::string name = json_get::string_at(member, "nick");
  if (name.empty()) {
    name = json_get::string_at(author, "global_name");
  }
  if (name.empty()) {
    name = json_get::string_at(author, "username");
  }
  // Roles only from a guild member; a DM carries none.
  event.principal = principal_of(author_id, name, guild_id.empty() ? std::vector<std::string>{} : string_array(obj_at(member, "roles")));
  event.text = content;
  event.addressed = true;
  if (event.channel.empty() || event.message_id.empty() || event.text.empty()) {
    return std::nullopt;
  }
  return event;
}

json no_mentions() { return json{{"parse", json::array()}}; }

std::vector<std::string> split_content(std::string_view text, std::size_t limit) {
  std::vector<std::string> pieces;
  while (!text.empty()) {
    if (text.size() <= limit) {
      pieces.emplace_back(text);
      break;
    }
    std::size_t cut = text.rfind('\n', limit);
    if (cut == std::string_view::npos || cut < limit / 2) {
      cut = opsgate::text::utf8_prefix(text, limit).size();
      pieces.emplace_back(text.substr(0, cut));
      text.remove_prefix(cut);
    } else {
      pieces.emplace_back(text.substr(0, cut));
      text.remove_prefix(cut + 1);  // the line break itself is dropped
    }
  }
  return pieces;
}

json approval_components(std::string_view approval_id) {
  const std::string id(approval_id);
  return json::array({json{{"type", 1},
                           {"components", json::array({
                                              json{{"type", 2}, {"style", 3}, {"label", "Approve"}, {"custom_id", "approve:" + id}},
                                              json{{"type", 2}, {"style", 4}, {"label", "Deny"}, {"custom_id", "deny:" + id}},
                                          })}}});
}

std::string neutralise_mentions(std::string_view text) {
  static constexpr std::string_view kZeroWidthSpace = "\u200b";
  const auto digit = [&](std::size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '@') {
      const std::string_view rest = text.substr(i + 1);
      if (rest.starts_with("everyone") || rest.starts_with("here")) {
        out += kZeroWidthSpace;
      }
    } else if (text[i] == '<' && i + 1 < text.size()) {
      const char next = text[i + 1];
      const std::size_t after = i + 2 + ((next == '@' && i + 2 < text.size() && (text[i + 2] == '!' || text[i + 2] == '&')) ? 1 : 0);
      if ((next == '@' || next == '#') && digit(after)) {
        out += kZeroWidthSpace;
      }
    }
  }
  return out;
}

std::string mention_principals(std::string text) {
  static const std::regex kDiscordPrincipal("discord:([0-9]{5,25})");
  return std::regex_replace(neutralise_mentions(text), kDiscordPrincipal, "<@$1>");
}

std::string outcome_line(std::string_view outcome, std::string_view outcome_text) {
  std::string head;
  if (outcome == "granted") {
    head = "✅ **Approved**";
  } else if (outcome == "denied") {
    head = "🚫 **Denied**";
  } else if (outcome == "expired") {
    head = "⌛ **Expired**";
  } else if (outcome == "cancelled") {
    head = "✖️ **Cancelled**";
  } else {
    head = "**" + std::string(outcome) + "**";
  }
  if (!outcome_text.empty()) {
    head += " — " + mention_principals(std::string(outcome_text));
  }
  return head;
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace opsgate::adapters::discord
