#include "adapters/teams/activity.hpp"
#include "src/core/json_get.hpp"
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
      if (json_get::string_at(entity, "type") != "mention" || json_get::string_at(json_get::object_at(entity, "mentioned"), "id") != bot_id ||
          bot_id.empty()) {
        continue;
      }
      const std::string mention = json_get::string_at(entity, "text");
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
  a.type = json_get::string_at(body, "type");
  a.id = json_get::string_at(body, "id");
  a.channel_id = json_get::string_at(body, "channelId");
  a.service_url = json_get::string_at(body, "serviceUrl");
  a.name = json_get::string_at(body, "name");
  const json& from = json_get::object_at(body, "from");
  a.from_id = json_get::string_at(from, "id");
  a.from_name = json_get::string_at(from, "name");
  a.aad_object_id = json_get::string_at(from, "aadObjectId");
  a.recipient_id = json_get::string_at(json_get::object_at(body, "recipient"), "id");
  const json& conversation = json_get::object_at(body, "conversation");
  a.conversation_id = json_get::string_at(conversation, "id");
  a.conversation_type = json_get::string_at(conversation, "conversationType");
  a.tenant_id = json_get::string_at(conversation, "tenantId");
  const json& channel_data = json_get::object_at(body, "channelData");
  if (a.tenant_id.empty()) {
    a.tenant_id = json_get::string_at(json_get::object_at(channel_data, "tenant"), "id");
  }
  a.team_id = json_get::string_at(json_get::object_at(channel_data, "team"), "id");
  a.channel = json_get::string_at(json_get::object_at(channel_data, "channel"), "id");
  a.reply_to_id = json_get::string_at(body, "replyToId");
  const auto entities = body.find("entities");
  a.text = strip_bot_mentions(json_get::string_at(body, "text"), entities == body.end() ? json() : *entities, a.recipient_id,
                              a.mentioned);
  if (const auto value = body.find("value"); value != body.end()) {
    a.value = *value;
  }
  return a;
}

}  // namespace opsgate::adapters::teams
