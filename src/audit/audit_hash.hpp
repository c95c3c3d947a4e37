#pragma once
// The hash chain's arithmetic, shared by the writer (SqliteAuditLog) and the
// reader's verify(): both must compute exactly the same bytes.

#include <string>
#include <string_view>

#include "src/core/audit_log.hpp"
#include "src/core/crypto.hpp"

namespace opsgate::audit {

// prev_hash of the first event: 64 '0' characters.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Kept only for adapters/slack/slack_http_receiver.cpp (perf engineers' file
// this session): new code calls crypto::sha256_hex directly.
using crypto::sha256_hex;

// hex(SHA-256(prev_hash + canonical_audit_text(event))). event.seq must be set.
std::string compute_audit_hash(std::string_view prev_hash, const AuditEvent& event);

}  // namespace opsgate::audit
