#include "src/core/audit_log.hpp"

#include <cstdint>
#include <cstring>

namespace opsgate {

nlohmann::json to_json(const AuditEvent& event) {
  return {{"seq", event.seq},          {"ts_ms", event.ts_ms},     {"request_id", event.request_id},
          {"kind", event.kind},        {"platform", event.platform}, {"channel", event.channel},
          {"principal", event.principal}, {"action", event.action},
          {"params", event.params.is_null() ? nlohmann::json::object() : event.params},
          {"outcome", event.outcome},  {"detail", event.detail},   {"prev_hash", event.prev_hash},
          {"hash", event.hash}};
}

namespace {

// True when `text` is printable ASCII without quote or backslash: JSON
// writes it as is. Eight bytes at a time (the writer checks every field of
// every row; a byte at a time was 5% of its time).
bool plain_json_text(std::string_view text) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero_byte = [](std::uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  const char* p = text.data();
  std::size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, 8);
    const bool control = ((w - kOnes * 0x20) & ~w & kHigh) != 0;          // a byte < 0x20
    const bool high = ((((w & ~kHigh) + kOnes) | w) & kHigh) != 0;           // a byte >= 0x7f
    if (control || high || has_zero_byte(w ^ (kOnes * '"')) || has_zero_byte(w ^ (kOnes * '\\'))) {
      return false;
    }
  }
  for (; n > 0; ++p, --n) {
    const auto u = static_cast<unsigned char>(*p);
    if (u < 0x20 || u >= 0x7f || *p == '"' || *p == '\\') {
      return false;
    }
  }
  return true;
}

}  // namespace

// Printable ASCII without quote or backslash (nearly every field) is copied
// as is; anything else goes through nlohmann, so escapes and invalid UTF-8
// stay its business.
void append_json_string(std::string& out, std::string_view text) {
  if (!plain_json_text(text)) {
    out += nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

void append_audit_params(std::string& out, const nlohmann::json& params) {
  if (audit_params_empty(params)) {
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
