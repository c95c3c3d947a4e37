#include "src/audit/audit_hash.hpp"

namespace opsgate::audit {

std::string compute_audit_hash(std::string_view prev_hash, const AuditEvent& event) {
  // One buffer per thread, kept at its largest: the writer hashes every row,
  // and building prev_hash + text as a new string each time cost two
  // allocations and a copy a row.
  thread_local std::string text;
  text.clear();
  append_canonical_audit_text(text, event);
  return crypto::sha256_hex(prev_hash, text);
}

}  // namespace opsgate::audit
