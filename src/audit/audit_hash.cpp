#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

std::string compute_audit_hash(std::string_view prev_hash, const AuditEvent& event) {
  std::string text(prev_hash);
  text += canonical_audit_text(event);
  return crypto::sha256_hex(text);
}

}  // namespace opsgate::audit
