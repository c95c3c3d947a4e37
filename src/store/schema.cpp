#include "src/store/schema.hpp"

#include <string>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

namespace opsgate::store {

namespace {

// Version 1: every table the modules created for themselves before the store
// owned the file (audit log, approvals and votes, rate reservations, replays,
// gates and their outbox, the Alertmanager webhook's threads). IF NOT EXISTS because a version-0 file holds any
// subset of them, made by whichever modules had run. The triggers make the
// audit table append-only for every client of the file, not just this code.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('audit_schema_version', '1');
CREATE TABLE IF NOT EXISTS audit_events (
  seq        INTEGER PRIMARY KEY,
  ts_ms      INTEGER NOT NULL,
  request_id TEXT,
  kind       TEXT,
  platform   TEXT,
  channel    TEXT,
  principal  TEXT,
  action     TEXT,
  params     TEXT,
  outcome    TEXT,
  detail     TEXT,
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_request_id ON audit_events(request_id);
CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  origin_request_id TEXT NOT NULL,
  requester TEXT NOT NULL,
  requester_name TEXT,
  platform TEXT, channel TEXT, thread TEXT,
  action TEXT NOT NULL,
  params TEXT NOT NULL,
  break_glass_reason TEXT,
  request_hash TEXT NOT NULL,
  rule_id TEXT,
  approvers TEXT NOT NULL,
  quorum INTEGER NOT NULL,
  decided_by TEXT,
  reason TEXT,
  decided_ms INTEGER,
  preview_text TEXT NOT NULL DEFAULT '',
  preview_fingerprint TEXT NOT NULL DEFAULT '',
  requester_groups TEXT NOT NULL DEFAULT '[]',
  co_requesters TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state, expires_ms);
CREATE TABLE IF NOT EXISTS approval_votes (
  approval_id TEXT NOT NULL,
  voter TEXT NOT NULL,
  vote TEXT NOT NULL,
  reason TEXT,
  ts_ms INTEGER NOT NULL,
  person TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (approval_id, voter)
);
CREATE TABLE IF NOT EXISTS rate_reservations (
  request_id TEXT PRIMARY KEY,
  person TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  ts_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_reservations_ts ON rate_reservations(ts_ms);

CREATE TABLE IF NOT EXISTS seen_events (key TEXT PRIMARY KEY, seen_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_events_ms ON seen_events(seen_ms);

CREATE TABLE IF NOT EXISTS gates (
  id TEXT PRIMARY KEY,
  client TEXT NOT NULL,
  source TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  request TEXT NOT NULL,
  state TEXT NOT NULL,
  requester TEXT NOT NULL,
  triggered_principal TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  decided_ms INTEGER NOT NULL DEFAULT 0,
  decided_by TEXT NOT NULL DEFAULT '',
  comment TEXT NOT NULL DEFAULT '',
  rule_id TEXT NOT NULL DEFAULT '',
  approvers TEXT NOT NULL DEFAULT '[]',
  quorum INTEGER NOT NULL DEFAULT 0,
  approval_id TEXT NOT NULL DEFAULT '',
  platform TEXT NOT NULL DEFAULT '',
  channel TEXT NOT NULL DEFAULT '',
  thread TEXT NOT NULL DEFAULT '',
  callback_kind TEXT NOT NULL DEFAULT '',
  callback TEXT NOT NULL DEFAULT '{}',
  UNIQUE (client, dedup_key)
);
CREATE INDEX IF NOT EXISTS gates_state ON gates(state, expires_ms);
CREATE INDEX IF NOT EXISTS gates_approval ON gates(approval_id);
CREATE TABLE IF NOT EXISTS gate_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  gate_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  first_ms INTEGER NOT NULL,
  next_ms INTEGER NOT NULL,
  deadline_ms INTEGER NOT NULL,
  alerted INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  done_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gate_outbox_due ON gate_outbox(state, next_ms);

CREATE TABLE IF NOT EXISTS alert_threads (
  key TEXT PRIMARY KEY,
  platform TEXT NOT NULL,
  channel TEXT NOT NULL,
  thread TEXT NOT NULL,
  target TEXT NOT NULL,
  env TEXT NOT NULL,
  opened_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL DEFAULT 0,
  fired INTEGER NOT NULL DEFAULT 1,
  resolved INTEGER NOT NULL DEFAULT 0
);
)sql";

// Version 2: language-model usage as data (it was text in the `parsed` audit
// event's detail, scraped back at start-up), and the rate counter's lookup by
// person.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE llm_usage (
  id         INTEGER PRIMARY KEY,
  ts_ms      INTEGER NOT NULL,
  team       TEXT NOT NULL,
  action     TEXT NOT NULL,
  connection TEXT NOT NULL,
  provider   TEXT NOT NULL,
  model      TEXT NOT NULL,
  tokens_in  INTEGER,
  tokens_out INTEGER,
  cost_usd   REAL NOT NULL,
  latency_ms REAL NOT NULL,
  error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX llm_usage_ts ON llm_usage(ts_ms);
CREATE INDEX IF NOT EXISTS rate_reservations_person ON rate_reservations(person, ts_ms);
)sql";

bool has_column(SQLite::Database& db, const std::string& table, const std::string& column) {
  SQLite::Statement columns(db, "PRAGMA table_info(" + table + ")");
  while (columns.executeStep()) {
    if (columns.getColumn(1).getString() == column) {
      return true;
    }
  }
  return false;
}

// Approval tables written by older versions lack the later columns (the
// CREATE above leaves an existing table as it is).
void add_late_approval_columns(SQLite::Database& db) {
  if (!has_column(db, "approvals", "preview_fingerprint")) {
    db.exec("ALTER TABLE approvals ADD COLUMN preview_text TEXT NOT NULL DEFAULT ''");
    db.exec("ALTER TABLE approvals ADD COLUMN preview_fingerprint TEXT NOT NULL DEFAULT ''");
  }
  if (!has_column(db, "approvals", "requester_groups")) {
    db.exec("ALTER TABLE approvals ADD COLUMN requester_groups TEXT NOT NULL DEFAULT '[]'");
  }
  if (!has_column(db, "approvals", "co_requesters")) {
    db.exec("ALTER TABLE approvals ADD COLUMN co_requesters TEXT NOT NULL DEFAULT '[]'");
  }
  if (!has_column(db, "approval_votes", "person")) {
    db.exec("ALTER TABLE approval_votes ADD COLUMN person TEXT NOT NULL DEFAULT ''");
  }
}

// Alert threads written by older versions lack the later columns.
void add_late_alert_thread_columns(SQLite::Database& db) {
  if (!has_column(db, "alert_threads", "last_ms")) {
    db.exec("ALTER TABLE alert_threads ADD COLUMN last_ms INTEGER NOT NULL DEFAULT 0");
    db.exec("UPDATE alert_threads SET last_ms = opened_ms");
  }
  if (!has_column(db, "alert_threads", "fired")) {
    db.exec("ALTER TABLE alert_threads ADD COLUMN fired INTEGER NOT NULL DEFAULT 1");
  }
  if (!has_column(db, "alert_threads", "resolved")) {
    db.exec("ALTER TABLE alert_threads ADD COLUMN resolved INTEGER NOT NULL DEFAULT 0");
  }
}

}  // namespace

Result<int> migrate(SQLite::Database& db, const std::string& path) {
  const int found = db.execAndGet("PRAGMA user_version").getInt();
  if (found > kSchemaVersion) {
    return fail(Errc::storage, "the database at " + path + " has schema version " + std::to_string(found) +
                                   ", made by a newer opsgate; this one understands up to version " +
                                   std::to_string(kSchemaVersion) + ". Run the newer opsgate, or restore a backup.");
  }
  if (found < 1) {
    db.exec(kVersion1);
    add_late_approval_columns(db);
    add_late_alert_thread_columns(db);
    const std::string audit_version =
        db.execAndGet("SELECT value FROM meta WHERE key = 'audit_schema_version'").getString();
    if (audit_version != "1") {
      return fail(Errc::storage, "the audit log at " + path + " has schema version " + audit_version +
                                     "; this opsgate understands version 1");
    }
  }
  if (found < 2) {
    db.exec(kVersion2);
  }
  if (found != kSchemaVersion) {
    db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  }
  return found;
}

}  // namespace opsgate::store
