-- The tables each module created for itself before src/store owned the file
-- (copied from the code of that time: audit log, approval store, replay store,
-- gate store; user_version 0), and a few rows. tests/store/migration_test.cpp
-- opens it with the current code.
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
-- The Alertmanager webhook's table in its first shape (it added columns itself later).
CREATE TABLE IF NOT EXISTS alert_threads (key TEXT PRIMARY KEY, platform TEXT NOT NULL, channel TEXT NOT NULL,
  thread TEXT NOT NULL, target TEXT NOT NULL, env TEXT NOT NULL, opened_ms INTEGER NOT NULL);

-- Rows as the code before the store wrote them.
INSERT INTO audit_events VALUES (1, 1700000000000, 'r-1', 'received', 'shell', 'term', 'shell:alice', '', '{}', 'ok',
  'restart cart in prod', '0000000000000000000000000000000000000000000000000000000000000000',
  '575dcf4e0ab57ae7f0af86602964e6c1ae311fdb23c656cfac46cc68aa04c6a8');
INSERT INTO approvals (id, state, created_ms, expires_ms, origin_request_id, requester, requester_name, platform,
  channel, thread, action, params, break_glass_reason, request_hash, rule_id, approvers, quorum, preview_text,
  preview_fingerprint, requester_groups, co_requesters)
  VALUES ('ab2de', 'pending', 1700000000000, 9999999999999, 'r-2', 'shell:alice', 'alice', 'shell', 'term', 'term',
  'restart', '{"env":"prod","target":"cart"}', '', 'x', 'prod-writes', '["group:sre"]', 2, 'would restart', 'fp',
  '["shop"]', '[]');
INSERT INTO approval_votes VALUES ('ab2de', 'shell:bob', 'approve', '', 1700000000100, 'bob');
INSERT INTO rate_reservations VALUES ('r-3', 'alice', 'restart', 'cart', 1700000000200);
INSERT INTO seen_events VALUES ('slack:Ev0001', 1700000000300);
INSERT INTO gates (id, client, source, dedup_key, body_hash, request, state, requester, created_ms, expires_ms)
  VALUES ('gt_000000000001', 'ci', 'api', 'k-1', 'h', '{}', 'pending', 'ci:ci', 1700000000000, 9999999999999);
INSERT INTO gate_outbox (gate_id, state, first_ms, next_ms, deadline_ms) VALUES ('gt_000000000001', 'pending', 1, 1, 2);
INSERT INTO alert_threads VALUES ('checkout/prod/HighErrorRate', 'slack', 'C1', '1700.1', 'checkout', 'prod', 1700000000000);
