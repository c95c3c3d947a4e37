#pragma once
// Extension point: the append-only audit log. append() completes when the
// event is durable; the pipeline refuses to run an action whose `started`
// event could not be made durable.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

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
  // Null means {} (stored and hashed as "{}"): an empty object allocates its
  // map, and most events (received, meta actions) have no params.
  nlohmann::json params;
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
  // Appends `events` in order, all in one transaction (shared with whatever
  // else is waiting: group commit), and completes with the last one's seq once
  // all are durable. `queued` (may be empty) is called as soon as the events
  // hold their place in the log's order, before the wait for the disk: what
  // is appended after that call comes after them in the chain.
  virtual boost::asio::awaitable<Result<std::int64_t>> append_all(std::vector<AuditEvent> events,
                                                                  std::function<void()> queued) = 0;
  // Queues the event behind everything appended so far and returns at once:
  // it is written with the next commit, and nobody waits for that. For what
  // a crash may lose without anyone having been told otherwise (the outcome
  // of a reply already sent). A failure is logged by the log.
  virtual void append_later(AuditEvent event) = 0;
};

// The canonical text hashed for an event: every field except the two hashes
// (seq included, so reordering shows), as compact JSON with sorted keys.
// hash = hex(SHA-256(prev_hash + canonical_audit_text(event))).
std::string canonical_audit_text(const AuditEvent& event);
// The same text appended to `out` (the writer reuses one buffer per thread).
void append_canonical_audit_text(std::string& out, const AuditEvent& event);
// How params are stored and hashed: compact JSON, invalid UTF-8 replaced;
// null (an event's default) is written as {}.
void append_audit_params(std::string& out, const nlohmann::json& params);
// True for params stored as "{}" (null or an empty object).
inline bool audit_params_empty(const nlohmann::json& params) {
  return params.is_null() || (params.is_object() && params.empty());
}
// Appends `text` as a JSON string exactly as nlohmann's
// dump(-1, ' ', false, error_handler_t::replace) writes it.
void append_json_string(std::string& out, std::string_view text);
nlohmann::json to_json(const AuditEvent& event);

}  // namespace opsgate
