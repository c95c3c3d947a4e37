#pragma once
// Extension point: the append-only audit log. append() completes when the
// event is durable; the pipeline refuses to run an action whose `started`
// event could not be made durable.

#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/error.hpp"

namespace opsgate {

struct AuditEvent {
  std::int64_t seq = 0;     // assigned by the log: 1, 2, 3, ...
  std::int64_t ts_ms = 0;   // unix milliseconds; the log fills it when 0
  std::string request_id;
  std::string kind;         // received, parsed, decided, approval_*, started, finished, replied
  std::string platform;
  std::string channel;
  std::string principal;    // "shell:alice"
  std::string action;       // canonical action name, empty before parsing
  nlohmann::json params = nlohmann::json::object();
  std::string outcome;      // ok, error, allow, deny, needs_approval, none, clarify, ...
  std::string detail;       // human-readable detail
  std::string prev_hash;    // hex SHA-256, filled by the log
  std::string hash;
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Completes with the event's sequence number once it is committed to disk.
  virtual boost::asio::awaitable<Result<std::int64_t>> append(AuditEvent event) = 0;
};

// The canonical text hashed for an event: every field except the two hashes
// (seq included, so reordering shows), as compact JSON with sorted keys.
// hash = hex(SHA-256(prev_hash + canonical_audit_text(event))).
std::string canonical_audit_text(const AuditEvent& event);
nlohmann::json to_json(const AuditEvent& event);

}  // namespace opsgate
