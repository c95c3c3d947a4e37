#pragma once
// Read-only access to an audit log for the CLI (`opsgate audit tail | show |
// verify | export`) and the audit actions. Free functions; each opens the
// SQLite file read-only (or a PostgreSQL connection with a read-only
// transaction), runs one query and closes it, so they are safe while the
// daemon (or several replicas) write.

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "src/core/audit_log.hpp"
#include "src/core/error.hpp"

namespace opsgate::audit {

// Where an audit log is: a SQLite file (a path converts to one) or a
// PostgreSQL database (storage.backend: postgres).
struct AuditSource {
  AuditSource(std::string sqlite_path) : path(std::move(sqlite_path)) {}  // NOLINT: a path is a source
  AuditSource(const char* sqlite_path) : path(sqlite_path) {}             // NOLINT
  static AuditSource postgres(std::string dsn) {
    AuditSource source("");
    source.pg_dsn = std::move(dsn);
    return source;
  }
  bool is_postgres() const { return !pg_dsn.empty(); }
  // The file, or PostgreSQL's host:port/dbname (never the password): for messages.
  std::string describe() const;

  std::string path;    // the SQLite file
  std::string pg_dsn;  // non-empty: the PostgreSQL database (a secret: never printed)
};

// The outcome of walking the hash chain. A report with ok == false is a
// successful verification that found tampering; Result errors mean the file
// could not be read at all.
struct VerifyReport {
  bool ok = true;
  std::int64_t count = 0;          // rows checked (including the first bad one)
  std::int64_t first_bad_seq = 0;  // 0 when ok
  std::string reason;              // "seq 7: hash does not match its contents (the row was edited)"
  std::string head_hash;           // hash of the last good row (genesis zeros for an empty log);
                                   // record it elsewhere to detect truncation of the tail
};

// The newest n events, oldest first.
Result<std::vector<AuditEvent>> tail(const AuditSource& source, std::int64_t n);
// Every event of one kind ("parsed") at or after since_ms, in seq order.
Result<std::vector<AuditEvent>> of_kind_since(const AuditSource& source, const std::string& kind, std::int64_t since_ms);
// Every event of one request, in seq order.
Result<std::vector<AuditEvent>> by_request(const AuditSource& source, const std::string& request_id);
// One event; Errc::not_found if there is no such seq.
Result<AuditEvent> by_seq(const AuditSource& source, std::int64_t seq);
// The newest `limit` events whose params have "target": target, oldest first.
Result<std::vector<AuditEvent>> recent_for_target(const AuditSource& source, const std::string& target,
                                                  std::int64_t limit);

// Walks every row in seq order and stops at the first that breaks the chain.
Result<VerifyReport> verify(const AuditSource& source);

// One JSON object per line (to_json(event)), in seq order.
Result<void> export_jsonl(const AuditSource& source, std::ostream& out);
// A header row, then one RFC 4180 row per event (CRLF line ends, fields with
// commas, quotes or line breaks quoted).
Result<void> export_csv(const AuditSource& source, std::ostream& out);

// One line for people: `2026-11-25T13:01:02.123Z #12 req=ab12 received
// shell:alice restart {"env":"staging","target":"cart"} ok — detail`.
// Control characters from chat are escaped so they cannot drive the terminal.
std::string format_event_line(const AuditEvent& event);

// unix milliseconds as `2026-11-25T13:01:02.123Z`.
std::string format_utc_ms(std::int64_t unix_ms);

}  // namespace opsgate::audit
