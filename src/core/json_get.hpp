#pragma once
// Reading a field of untrusted JSON without exceptions: a missing key, a
// value of another type, or a parent that is not an object gives the
// fallback. Pure functions; safe from any thread.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace opsgate::json_get {

// The string at `key`, or "" .
std::string string_at(const nlohmann::json& object, std::string_view key);
// The integer at `key` (signed, or unsigned within int64), or `fallback`.
std::int64_t int_at(const nlohmann::json& object, std::string_view key, std::int64_t fallback = 0);
// The boolean at `key`, or `fallback`.
bool bool_at(const nlohmann::json& object, std::string_view key, bool fallback = false);
// The object at `key`, or a null json (whose lookups give fallbacks in turn).
const nlohmann::json& object_at(const nlohmann::json& object, std::string_view key);

}  // namespace opsgate::json_get
