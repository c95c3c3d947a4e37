#include "src/audit/pg_audit_log.hpp"

#include <limits>
#include <utility>

#include <pqxx/pqxx>

#include "src/audit/audit_hash.hpp"
#include "src/core/text.hpp"
#include "src/store/pg_store.hpp"

namespace opsgate::audit {

namespace {

constexpr const char* kInsert =
    "INSERT INTO audit_events(seq, ts_ms, request_id, kind, platform, channel, principal, action, "
    "params, outcome, detail, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)";

constexpr const char* kHead = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";

// PostgreSQL's text holds valid UTF-8 without NUL; chat text may be
// neither. Replaced (U+FFFD) before the hash is computed, so the hash
// covers exactly what is stored and verify() agrees with the writer.
void make_storable(std::string& value) {
  std::string clean = text::sanitize_utf8(value, std::numeric_limits<std::size_t>::max());
  for (std::size_t at = clean.find('\0'); at != std::string::npos; at = clean.find('\0', at)) {
    clean.replace(at, 1, "\xef\xbf\xbd");
  }
  value = std::move(clean);
}

void make_storable(AuditEvent& event) {
  for (std::string* field : {&event.request_id, &event.kind, &event.platform, &event.channel, &event.principal,
                             &event.action, &event.outcome, &event.detail}) {
    make_storable(*field);
  }
}

}  // namespace

Result<std::unique_ptr<PgAuditLog>> PgAuditLog::open(const store::PgOptions& options, const Clock& clock) {
  auto opened = store::PgStore::open(options);
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  return std::unique_ptr<PgAuditLog>(new PgAuditLog(std::move(*opened), true, clock));
}

Result<std::unique_ptr<PgAuditLog>> PgAuditLog::attach(std::shared_ptr<store::PgStore> store, const Clock& clock) {
  return std::unique_ptr<PgAuditLog>(new PgAuditLog(std::move(store), false, clock));
}

PgAuditLog::PgAuditLog(std::shared_ptr<store::PgStore> store, bool owns_store, const Clock& clock)
    : QueuedAuditLog(clock), store_(std::move(store)), owns_store_(owns_store) {}

PgAuditLog::~PgAuditLog() { close(); }

void PgAuditLog::close() {
  drain();
  if (owns_store_) {
    store_->close();
  }
}

std::int64_t PgAuditLog::commits() const { return store_->commits(); }
const std::string& PgAuditLog::where() const { return store_->where(); }
void PgAuditLog::fail_next_commits_for_test(int n) { store_->fail_next_commits_for_test(n); }

bool PgAuditLog::submit_unit(std::shared_ptr<Unit> unit) {
  store::PgWriteJob job;
  job.rows = unit->events.size();
  job.batch_lock = store::kPgAuditChainLock;
  job.on_queued = [this, raw = unit.get()] { stamp_times(*raw); };
  job.work = [this, unit](pqxx::transaction_base& tx) { return write_unit(tx, *unit); };
  job.done = [this, unit](bool committed, const Error* error) { finish_unit(*unit, committed, error); };
  return store_->submit(std::move(job));
}

bool PgAuditLog::write_unit(pqxx::transaction_base& tx, Unit& unit) {
  // Under the chain lock (taken at BEGIN), the head read here is the last
  // row any replica committed, or this transaction's own last row: no cache
  // to go stale when another replica appends.
  ChainHead head{0, std::string(kGenesisHash)};
  const pqxx::result found = tx.exec(kHead);
  if (!found.empty()) {
    head.seq = found[0][0].as<std::int64_t>();
    head.hash = found[0][1].as<std::string>();
  }
  for (AuditEvent& event : unit.events) {
    make_storable(event);  // params are dumped with U+FFFD replacements already
  }
  write_events(unit, std::move(head), [&tx](const AuditEvent& event, const std::string& params) {
    tx.exec_params0(kInsert, event.seq, event.ts_ms, event.request_id, event.kind, event.platform, event.channel,
                    event.principal, event.action, params, event.outcome, event.detail, event.prev_hash, event.hash);
  });
  return true;
}

}  // namespace opsgate::audit
