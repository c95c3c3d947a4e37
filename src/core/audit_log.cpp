#include "src/core/audit_log.hpp"

namespace opsgate {

nlohmann::json to_json(const AuditEvent& event) {
  return {{"seq", event.seq},          {"ts_ms", event.ts_ms},     {"request_id", event.request_id},
          {"kind", event.kind},        {"platform", event.platform}, {"channel", event.channel},
          {"principal", event.principal}, {"action", event.action}, {"params", event.params},
          {"outcome", event.outcome},  {"detail", event.detail},   {"prev_hash", event.prev_hash},
          {"hash", event.hash}};
}

std::string canonical_audit_text(const AuditEvent& event) {
  nlohmann::json j = to_json(event);
  j.erase("prev_hash");
  j.erase("hash");
  // Invalid UTF-8 from chat is replaced rather than thrown on; the stored
  // params are the replaced text too, so the hash stays reproducible.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace opsgate
