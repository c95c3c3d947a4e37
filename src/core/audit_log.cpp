#include "src/core/audit_log.hpp"

#include <algorithm>

namespace opsgate {

nlohmann::json to_json(const AuditEvent& event) {
  return {{"seq", event.seq},          {"ts_ms", event.ts_ms},     {"request_id", event.request_id},
          {"kind", event.kind},        {"platform", event.platform}, {"channel", event.channel},
          {"principal", event.principal}, {"action", event.action}, {"params", event.params},
          {"outcome", event.outcome},  {"detail", event.detail},   {"prev_hash", event.prev_hash},
          {"hash", event.hash}};
}

namespace {

// Appends `text` as a JSON string exactly as nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes it. Printable ASCII
// without quote or backslash (nearly every field) is copied as is; anything
// else goes through nlohmann, so escapes and invalid UTF-8 stay its business.
void append_json_string(std::string& out, const std::string& text) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

void append_audit_params(std::string& out, const nlohmann::json& params) {
  if (params.is_object() && params.empty()) {
    out += "{}";  // most events (meta actions, received): no serializer to set up
    return;
  }
  out += params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string canonical_audit_text(const AuditEvent& event) {
  std::string out;
  out.reserve(256 + event.detail.size());
  append_canonical_audit_text(out, event);
  return out;
}

void append_canonical_audit_text(std::string& out, const AuditEvent& event) {
  // Byte for byte what to_json(event) without the hashes dumps (compact, keys
  // sorted), written directly: the writer hashes every event, and building a
  // json object first costs a dozen allocations. Invalid UTF-8 from chat is
  // replaced rather than thrown on; the stored params are the replaced text
  // too, so the hash stays reproducible. tests/core/audit_text_test.cpp holds
  // the two side by side.
  out += "{\"action\":";
  append_json_string(out, event.action);
  out += ",\"channel\":";
  append_json_string(out, event.channel);
  out += ",\"detail\":";
  append_json_string(out, event.detail);
  out += ",\"kind\":";
  append_json_string(out, event.kind);
  out += ",\"outcome\":";
  append_json_string(out, event.outcome);
  out += ",\"params\":";
  append_audit_params(out, event.params);
  out += ",\"platform\":";
  append_json_string(out, event.platform);
  out += ",\"principal\":";
  append_json_string(out, event.principal);
  out += ",\"request_id\":";
  append_json_string(out, event.request_id);
  out += ",\"seq\":";
  out += std::to_string(event.seq);
  out += ",\"ts_ms\":";
  out += std::to_string(event.ts_ms);
  out += '}';
}

}  // namespace opsgate
