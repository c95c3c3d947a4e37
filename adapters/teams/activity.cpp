#include "adapters/teams/activity.hpp"

#include "src/core/text.hpp"

namespace opsgate::adapters::teams {

using nlohmann::json;

std::string string_field(const json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return {};
  }
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return {};
  }
  return it->get<std::string>();
}

const json& object_field(const json& obj, std::string_view key) {
  static const json kNull;
  if (!obj.is_object()) {
    return kNull;
  }
  const auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) {
    return kNull;
  }
  return *it;
}

namespace {

}  // namespace

std::string strip_bot_mentions(std::string text, const json& entities, std::string_view bot_id, bool& mentioned) {
  mentioned = false;
  if (entities.is_array()) {
    for (const auto& entity : entities) {
      if (string_field(entity, "type") != "mention" || string_field(object_field(entity, "mentioned"), "id") != bot_id ||
          bot_id.empty()) {
        continue;
      }
      const std::string mention = string_field(entity, "text");
      if (mention.empty()) {
        continue;
      }
      for (std::size_t at = text.find(mention); at != std::string::npos; at = text.find(mention, at)) {
        text.erase(at, mention.size());
        mentioned = true;
      }
    }
  }
  // Collapse the double space a mention in the middle leaves behind.
  for (std::size_t at = text.find("  "); at != std::string::npos; at = text.find("  ", at)) {
    text.erase(at, 1);
  }
  return std::string(opsgate::text::trim(text));
}

Activity parse_activity(const json& body) {
  Activity a;
  if (!body.is_object()) {
    return a;
  }
  a.type = string_field(body, "type");
  a.id = string_field(body, "id");
  a.channel_id = string_field(body, "channelId");
  a.service_url = string_field(body, "serviceUrl");
  a.name = string_field(body, "name");
  const json& from = object_field(body, "from");
  a.from_id = string_field(from, "id");
  a.from_name = string_field(from, "name");
  a.aad_object_id = string_field(from, "aadObjectId");
  a.recipient_id = string_field(object_field(body, "recipient"), "id");
  const json& conversation = object_field(body, "conversation");
  a.conversation_id = string_field(conversation, "id");
  a.conversation_type = string_field(conversation, "conversationType");
  a.tenant_id = string_field(conversation, "tenantId");
  const json& channel_data = object_field(body, "channelData");
  if (a.tenant_id.empty()) {
    a.tenant_id = string_field(object_field(channel_data, "tenant"), "id");
  }
  a.team_id = string_field(object_field(channel_data, "team"), "id");
  a.channel = string_field(object_field(channel_data, "channel"), "id");
  a.reply_to_id = string_field(body, "replyToId");
  const auto entities = body.find("entities");
  a.text = strip_bot_mentions(string_field(body, "text"), entities == body.end() ? json() : *entities, a.recipient_id,
                              a.mentioned);
  if (const auto value = body.find("value"); value != body.end()) {
    a.value = *value;
  }
  return a;
}

}  // namespace opsgate::adapters::teams
