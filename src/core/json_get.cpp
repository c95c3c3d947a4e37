#include "src/core/json_get.hpp"

#include <limits>

namespace opsgate::json_get {

namespace {

const nlohmann::json* find(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) {
    return nullptr;
  }
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

}  // namespace

std::string string_at(const nlohmann::json& object, std::string_view key) {
  const nlohmann::json* value = find(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::int64_t int_at(const nlohmann::json& object, std::string_view key, std::int64_t fallback) {
  const nlohmann::json* value = find(object, key);
  if (value == nullptr) {
    return fallback;
  }
  if (value->is_number_unsigned()) {
    const auto u = value->get<std::uint64_t>();
    return u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? static_cast<std::int64_t>(u)
                                                                                     : fallback;
  }
  return value->is_number_integer() ? value->get<std::int64_t>() : fallback;
}

bool bool_at(const nlohmann::json& object, std::string_view key, bool fallback) {
  const nlohmann::json* value = find(object, key);
  return value != nullptr && value->is_boolean() ? value->get<bool>() : fallback;
}

const nlohmann::json& object_at(const nlohmann::json& object, std::string_view key) {
  static const nlohmann::json kNull;
  const nlohmann::json* value = find(object, key);
  return value != nullptr && value->is_object() ? *value : kNull;
}

}  // namespace opsgate::json_get
