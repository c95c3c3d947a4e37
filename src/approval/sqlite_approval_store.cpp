#include "src/approval/sqlite_approval_store.hpp"

#include <random>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/audit/audit_hash.hpp"

namespace opsgate::approval {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr const char* kSchema = R"(
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
  preview_fingerprint TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state, expires_ms);
CREATE TABLE IF NOT EXISTS approval_votes (
  approval_id TEXT NOT NULL,
  voter TEXT NOT NULL,
  vote TEXT NOT NULL,
  reason TEXT,
  ts_ms INTEGER NOT NULL,
  PRIMARY KEY (approval_id, voter)
);
)";

std::int64_t ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string hash_of(const ActionRequest& request) { return audit::sha256_hex(request.canonical()); }

Approval read_row(SQLite::Database& db, SQLite::Statement& q) {
  Approval a;
  a.id = q.getColumn("id").getString();
  a.state = q.getColumn("state").getString();
  a.created_ms = q.getColumn("created_ms").getInt64();
  a.expires_ms = q.getColumn("expires_ms").getInt64();
  a.origin_request_id = q.getColumn("origin_request_id").getString();
  a.requester = q.getColumn("requester").getString();
  a.requester_name = q.getColumn("requester_name").getString();
  a.platform = q.getColumn("platform").getString();
  a.channel = q.getColumn("channel").getString();
  a.thread = q.getColumn("thread").getString();
  a.request.action = q.getColumn("action").getString();
  a.request.params = json::parse(q.getColumn("params").getString(), nullptr, false);
  a.request.break_glass_reason = q.getColumn("break_glass_reason").getString();
  a.request_hash = q.getColumn("request_hash").getString();
  a.requirement.rule_id = q.getColumn("rule_id").getString();
  const json approvers = json::parse(q.getColumn("approvers").getString(), nullptr, false);
  if (approvers.is_array()) {
    for (const auto& s : approvers) {
      if (s.is_string()) a.requirement.approvers.push_back(s.get<std::string>());
    }
  }
  a.requirement.quorum = q.getColumn("quorum").getInt();
  a.requirement.expiry = std::chrono::seconds((a.expires_ms - a.created_ms) / 1000);
  a.decided_by = q.getColumn("decided_by").getString();
  a.reason = q.getColumn("reason").getString();
  a.preview_text = q.getColumn("preview_text").getString();
  a.preview_fingerprint = q.getColumn("preview_fingerprint").getString();
  SQLite::Statement votes(db, "SELECT voter FROM approval_votes WHERE approval_id=? AND vote='approve' ORDER BY ts_ms");
  votes.bind(1, a.id);
  while (votes.executeStep()) {
    a.approved_by.push_back(votes.getColumn(0).getString());
  }
  return a;
}

std::optional<Approval> load(SQLite::Database& db, const std::string& id) {
  SQLite::Statement q(db, "SELECT * FROM approvals WHERE id=?");
  q.bind(1, id);
  if (!q.executeStep()) {
    return std::nullopt;
  }
  return read_row(db, q);
}

VoteOutcome refuse(std::string message, Approval a = {}) {
  return VoteOutcome{VoteResult::refused, std::move(message), std::move(a)};
}

// Files written before approvals carried a preview lack its columns.
void migrate(SQLite::Database& db) {
  bool has_preview = false;
  SQLite::Statement columns(db, "PRAGMA table_info(approvals)");
  while (columns.executeStep()) {
    if (columns.getColumn(1).getString() == "preview_fingerprint") {
      has_preview = true;
    }
  }
  if (!has_preview) {
    db.exec("ALTER TABLE approvals ADD COLUMN preview_text TEXT NOT NULL DEFAULT ''");
    db.exec("ALTER TABLE approvals ADD COLUMN preview_fingerprint TEXT NOT NULL DEFAULT ''");
  }
}

tl::unexpected<Error> storage_error(const std::exception& e) {
  return fail(Errc::storage, std::string("approval store: ") + e.what());
}

}  // namespace

std::string new_approval_id() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string id;
  for (int i = 0; i < 5; ++i) {
    id += kAlphabet[generator() % (sizeof(kAlphabet) - 1)];
  }
  return id;
}

Result<std::unique_ptr<SqliteApprovalStore>> SqliteApprovalStore::open(const std::string& path) {
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec(kSchema);
    migrate(*db);
    return std::unique_ptr<SqliteApprovalStore>(new SqliteApprovalStore(std::move(db)));
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot open the approval store at " + path + ": " + e.what());
  }
}

SqliteApprovalStore::SqliteApprovalStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

SqliteApprovalStore::~SqliteApprovalStore() { worker_.join(); }

Result<Approval> SqliteApprovalStore::create_now(const ApprovalDraft& d) {
  std::lock_guard lock(mutex_);
  try {
    const std::int64_t created = ms(d.now);
    const std::int64_t expires = created + std::chrono::duration_cast<std::chrono::milliseconds>(d.requirement.expiry).count();
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string id = new_approval_id();
      SQLite::Statement insert(*db_, R"(INSERT OR IGNORE INTO approvals
        (id, state, created_ms, expires_ms, origin_request_id, requester, requester_name, platform, channel, thread,
         action, params, break_glass_reason, request_hash, rule_id, approvers, quorum, preview_text,
         preview_fingerprint)
        VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))");
      insert.bind(1, id);
      insert.bind(2, created);
      insert.bind(3, expires);
      insert.bind(4, d.origin_request_id);
      insert.bind(5, d.requester.id);
      insert.bind(6, d.requester.display_name);
      insert.bind(7, d.platform);
      insert.bind(8, d.channel);
      insert.bind(9, d.thread);
      insert.bind(10, d.request.action);
      insert.bind(11, d.request.params.dump(-1, ' ', false, json::error_handler_t::replace));
      insert.bind(12, d.request.break_glass_reason);
      insert.bind(13, hash_of(d.request));
      insert.bind(14, d.requirement.rule_id);
      insert.bind(15, json(d.requirement.approvers).dump());
      insert.bind(16, d.requirement.quorum);
      insert.bind(17, d.preview_text);
      insert.bind(18, d.preview_fingerprint);
      if (insert.exec() == 1) {
        auto a = load(*db_, id);
        return *a;
      }
    }
    return fail(Errc::storage, "could not allocate an approval id");
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<VoteOutcome> SqliteApprovalStore::vote_now(const std::string& id, const Principal& voter, bool approve,
                                                  const std::string& reason, const PolicyEngine& policy,
                                                  std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    // IMMEDIATE: take the write lock first, so another process voting on the
    // same file waits for this transaction instead of reading stale state.
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto found = load(*db_, id);
    if (!found) {
      return refuse("There is no approval `" + id + "`. `approvals` lists the pending ones.");
    }
    Approval a = *found;
    if (a.state != "pending") {
      return refuse("Approval `" + id + "` is already " + a.state + ".", a);
    }
    if (ms(now) >= a.expires_ms) {
      SQLite::Statement expire(*db_, "UPDATE approvals SET state='expired', decided_ms=? WHERE id=? AND state='pending'");
      expire.bind(1, ms(now));
      expire.bind(2, id);
      expire.exec();
      tx.commit();
      a.state = "expired";
      return refuse("Approval `" + id + "` has expired; ask again.", a);
    }
    if (voter.id == a.requester) {
      return refuse("You cannot approve or deny your own request (" + id + "); another approver has to.", a);
    }
    if (!policy.may_approve(voter, a.requirement)) {
      std::string who;
      for (const auto& s : a.requirement.approvers) who += (who.empty() ? "" : ", ") + s;
      return refuse(voter.id + " may not vote on `" + id + "`: approvers are " + who + ".", a);
    }
    if (hash_of(a.request) != a.request_hash) {
      SQLite::Statement broken(*db_, "UPDATE approvals SET state='failed', reason=? WHERE id=?");
      broken.bind(1, "request hash mismatch: the stored request was changed");
      broken.bind(2, id);
      broken.exec();
      tx.commit();
      a.state = "failed";
      return refuse("Approval `" + id + "` does not match the request it was asked for (hash mismatch); refusing it.", a);
    }
    SQLite::Statement insert(*db_, "INSERT OR IGNORE INTO approval_votes (approval_id, voter, vote, reason, ts_ms) VALUES (?,?,?,?,?)");
    insert.bind(1, id);
    insert.bind(2, voter.id);
    insert.bind(3, approve ? "approve" : "deny");
    insert.bind(4, reason);
    insert.bind(5, ms(now));
    if (insert.exec() == 0) {
      return refuse("You already voted on `" + id + "`; each person counts once.", a);
    }
    if (!approve) {
      SQLite::Statement deny(*db_, "UPDATE approvals SET state='denied', decided_by=?, reason=?, decided_ms=? WHERE id=? AND state='pending'");
      deny.bind(1, voter.id);
      deny.bind(2, reason);
      deny.bind(3, ms(now));
      deny.bind(4, id);
      deny.exec();
      tx.commit();
      a.state = "denied";
      a.decided_by = voter.id;
      a.reason = reason;
      return VoteOutcome{VoteResult::denied, "denied by " + voter.id + (reason.empty() ? "" : ": " + reason), a};
    }
    SQLite::Statement count(*db_, "SELECT count(*) FROM approval_votes WHERE approval_id=? AND vote='approve'");
    count.bind(1, id);
    count.executeStep();
    const int approvals = count.getColumn(0).getInt();
    a.approved_by.push_back(voter.id);
    if (approvals < a.requirement.quorum) {
      tx.commit();
      return VoteOutcome{VoteResult::recorded,
                         "approval " + std::to_string(approvals) + " of " + std::to_string(a.requirement.quorum) +
                             " recorded for `" + id + "`",
                         a};
    }
    // The one transition that lets the request run: only a row still
    // pending can change, so a second vote racing this one gets `granted`
    // from the reload above and is refused.
    SQLite::Statement grant(*db_, "UPDATE approvals SET state='granted', decided_by=?, decided_ms=? WHERE id=? AND state='pending'");
    grant.bind(1, voter.id);
    grant.bind(2, ms(now));
    grant.bind(3, id);
    if (grant.exec() != 1) {
      return refuse("Approval `" + id + "` was decided meanwhile.", a);
    }
    tx.commit();
    a.state = "granted";
    a.decided_by = voter.id;
    return VoteOutcome{VoteResult::granted, "granted", a};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<VoteOutcome> SqliteApprovalStore::cancel_now(const std::string& id, const Principal& who,
                                                    std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto found = load(*db_, id);
    if (!found) {
      return refuse("There is no approval `" + id + "`.");
    }
    Approval a = *found;
    if (a.requester != who.id) {
      return refuse("Only the requester (" + a.requester + ") can cancel `" + id + "`.", a);
    }
    if (a.state != "pending") {
      return refuse("Approval `" + id + "` is already " + a.state + ".", a);
    }
    SQLite::Statement cancel(*db_, "UPDATE approvals SET state='cancelled', decided_by=?, decided_ms=? WHERE id=? AND state='pending'");
    cancel.bind(1, who.id);
    cancel.bind(2, ms(now));
    cancel.bind(3, id);
    cancel.exec();
    tx.commit();
    a.state = "cancelled";
    return VoteOutcome{VoteResult::denied, "cancelled by the requester", a};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> SqliteApprovalStore::pending_now(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    std::vector<Approval> out;
    SQLite::Statement q(*db_, "SELECT * FROM approvals WHERE state='pending' AND expires_ms > ? ORDER BY created_ms");
    q.bind(1, ms(now));
    while (q.executeStep()) {
      out.push_back(read_row(*db_, q));
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> SqliteApprovalStore::finish_now(const std::string& id, bool ok) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE approvals SET state=? WHERE id=? AND state='granted'");
    q.bind(1, ok ? "executed" : "failed");
    q.bind(2, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> SqliteApprovalStore::expire_now(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::vector<Approval> out;
    SQLite::Statement q(*db_, "SELECT * FROM approvals WHERE state='pending' AND expires_ms <= ?");
    q.bind(1, ms(now));
    while (q.executeStep()) {
      out.push_back(read_row(*db_, q));
    }
    SQLite::Statement update(*db_, "UPDATE approvals SET state='expired', decided_ms=? WHERE state='pending' AND expires_ms <= ?");
    update.bind(1, ms(now));
    update.bind(2, ms(now));
    update.exec();
    tx.commit();
    for (auto& a : out) a.state = "expired";
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<Approval> SqliteApprovalStore::restart_vote_now(const std::string& id, const std::string& preview_text,
                                                       const std::string& preview_fingerprint,
                                                       std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    auto found = load(*db_, id);
    if (!found) {
      return fail(Errc::not_found, "there is no approval `" + id + "`");
    }
    if (found->state != "granted") {
      return fail(Errc::conflict, "approval `" + id + "` is " + found->state + ", not granted");
    }
    const std::int64_t lifetime = found->expires_ms - found->created_ms;
    SQLite::Statement reopen(*db_, R"(UPDATE approvals SET state='pending', decided_by=NULL, decided_ms=NULL,
      created_ms=?, expires_ms=?, preview_text=?, preview_fingerprint=? WHERE id=? AND state='granted')");
    reopen.bind(1, ms(now));
    reopen.bind(2, ms(now) + lifetime);
    reopen.bind(3, preview_text);
    reopen.bind(4, preview_fingerprint);
    reopen.bind(5, id);
    if (reopen.exec() != 1) {
      return fail(Errc::conflict, "approval `" + id + "` changed meanwhile");
    }
    SQLite::Statement votes(*db_, "DELETE FROM approval_votes WHERE approval_id=?");
    votes.bind(1, id);
    votes.exec();
    auto reopened = load(*db_, id);
    tx.commit();
    return *reopened;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> SqliteApprovalStore::recover_interrupted() {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    std::vector<Approval> out;
    SQLite::Statement q(*db_, "SELECT * FROM approvals WHERE state='granted'");
    while (q.executeStep()) {
      out.push_back(read_row(*db_, q));
    }
    db_->exec("UPDATE approvals SET state='failed', reason='opsgate restarted before the approved request finished' WHERE state='granted'");
    tx.commit();
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<RateCount> SqliteApprovalStore::count_now(const RateLimitCheck& check, const std::string& principal,
                                                 std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  try {
    const std::int64_t since = ms(now) - std::chrono::duration_cast<std::chrono::milliseconds>(check.window).count();
    std::string sql = "SELECT count(*), min(ts_ms) FROM audit_events WHERE kind='started' AND ts_ms > ? AND action IN (SELECT value FROM json_each(?))";
    if (check.per == "subject") {
      sql += " AND principal = ?";
    } else {
      sql += " AND json_extract(params, '$.target') IN (SELECT value FROM json_each(?))";
    }
    SQLite::Statement q(*db_, sql);
    q.bind(1, since);
    q.bind(2, json(check.actions).dump());
    if (check.per == "subject") {
      q.bind(3, principal);
    } else {
      q.bind(3, json(check.targets).dump());
    }
    q.executeStep();
    RateCount c;
    c.count = q.getColumn(0).getInt64();
    c.oldest_ms = q.getColumn(1).isNull() ? 0 : q.getColumn(1).getInt64();
    return c;
  } catch (const std::exception& e) {
    // The audit table may not exist yet on a brand-new file: nothing counted.
    if (std::string(e.what()).find("no such table") != std::string::npos) {
      return RateCount{};
    }
    return storage_error(e);
  }
}

// The coroutine wrappers: hop to the worker thread, do the work, hop back.
asio::awaitable<Result<Approval>> SqliteApprovalStore::create(ApprovalDraft draft) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = create_now(draft);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<VoteOutcome>> SqliteApprovalStore::vote(std::string id, Principal voter, bool approve,
                                                               std::string reason,
                                                               std::shared_ptr<const PolicyEngine> policy,
                                                               std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = vote_now(id, voter, approve, reason, *policy, now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<VoteOutcome>> SqliteApprovalStore::cancel(std::string id, Principal who,
                                                                 std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = cancel_now(id, who, now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<std::vector<Approval>>> SqliteApprovalStore::pending(std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = pending_now(now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<void>> SqliteApprovalStore::finish(std::string id, bool ok) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = finish_now(id, ok);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<std::vector<Approval>>> SqliteApprovalStore::expire_due(std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = expire_now(now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<Approval>> SqliteApprovalStore::restart_vote(std::string id, std::string preview_text,
                                                                  std::string preview_fingerprint,
                                                                  std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = restart_vote_now(id, preview_text, preview_fingerprint, now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

asio::awaitable<Result<RateCount>> SqliteApprovalStore::count(RateLimitCheck check, std::string principal,
                                                              std::chrono::system_clock::time_point now) {
  const auto home = co_await asio::this_coro::executor;
  co_await asio::post(worker_, asio::use_awaitable);
  auto result = count_now(check, principal, now);
  co_await asio::post(home, asio::use_awaitable);
  co_return result;
}

}  // namespace opsgate::approval
