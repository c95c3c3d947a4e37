#include "src/approval/sqlite_approval_store.hpp"

#include <random>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "src/approval/approval_rules.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::approval {

namespace asio = boost::asio;

namespace {

// The rules' row operations in SQLite's SQL, on the connection of the
// transaction they run in. The writer's transaction is BEGIN IMMEDIATE:
// every other writer of the file waits, so find() needs no row lock.
class SqliteRows final : public ApprovalRows {
 public:
  explicit SqliteRows(SQLite::Database& db) : db_(db) {}

  std::optional<Approval> find(const std::string& id, bool /*for_update*/) override {
    SQLite::Statement q(db_, "SELECT * FROM approvals WHERE id=?");
    q.bind(1, id);
    if (!q.executeStep()) {
      return std::nullopt;
    }
    return read(q);
  }

  std::vector<Approval> pending(std::int64_t now_ms) override {
    SQLite::Statement q(db_, "SELECT * FROM approvals WHERE state='pending' AND expires_ms > ? ORDER BY created_ms");
    q.bind(1, now_ms);
    return read_all(q);
  }

  bool insert(const Approval& a) override {
    SQLite::Statement insert(db_, R"(INSERT OR IGNORE INTO approvals
      (id, state, created_ms, expires_ms, origin_request_id, requester, requester_name, platform, channel, thread,
       action, params, break_glass_reason, request_hash, rule_id, approvers, quorum, preview_text,
       preview_fingerprint, requester_groups, co_requesters)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))");
    insert.bind(1, a.id);
    insert.bind(2, a.state);
    insert.bind(3, a.created_ms);
    insert.bind(4, a.expires_ms);
    insert.bind(5, a.origin_request_id);
    insert.bind(6, a.requester);
    insert.bind(7, a.requester_name);
    insert.bind(8, a.platform);
    insert.bind(9, a.channel);
    insert.bind(10, a.thread);
    insert.bind(11, a.request.action);
    insert.bind(12, rules::params_text(a.request));
    insert.bind(13, a.request.break_glass_reason);
    insert.bind(14, a.request_hash);
    insert.bind(15, a.requirement.rule_id);
    insert.bind(16, rules::strings_text(a.requirement.approvers));
    insert.bind(17, a.requirement.quorum);
    insert.bind(18, a.preview_text);
    insert.bind(19, a.preview_fingerprint);
    insert.bind(20, rules::strings_text(a.requester_groups));
    insert.bind(21, rules::strings_text(a.co_requesters));
    return insert.exec() == 1;
  }

  int transition(const std::string& id, const Transition& change) override {
    std::string sql = "UPDATE approvals SET state=?";
    if (change.decided_by) sql += ", decided_by=?";
    if (change.reason) sql += ", reason=?";
    if (change.decided_ms) sql += ", decided_ms=?";
    sql += " WHERE id=?";
    if (!change.from.empty()) sql += " AND state=?";
    SQLite::Statement q(db_, sql);
    int at = 0;
    q.bind(++at, change.to);
    if (change.decided_by) q.bind(++at, *change.decided_by);
    if (change.reason) q.bind(++at, *change.reason);
    if (change.decided_ms) q.bind(++at, *change.decided_ms);
    q.bind(++at, id);
    if (!change.from.empty()) q.bind(++at, change.from);
    return q.exec();
  }

  std::vector<Approval> expire_due(std::int64_t now_ms) override {
    SQLite::Statement q(db_, "SELECT * FROM approvals WHERE state='pending' AND expires_ms <= ?");
    q.bind(1, now_ms);
    std::vector<Approval> out = read_all(q);
    SQLite::Statement update(
        db_, "UPDATE approvals SET state='expired', decided_ms=? WHERE state='pending' AND expires_ms <= ?");
    update.bind(1, now_ms);
    update.bind(2, now_ms);
    update.exec();
    for (auto& a : out) a.state = "expired";
    return out;
  }

  bool reopen(const std::string& id, std::int64_t created_ms, std::int64_t expires_ms, const std::string& preview_text,
              const std::string& preview_fingerprint) override {
    SQLite::Statement reopen(db_, R"(UPDATE approvals SET state='pending', decided_by=NULL, decided_ms=NULL,
      created_ms=?, expires_ms=?, preview_text=?, preview_fingerprint=? WHERE id=? AND state='granted')");
    reopen.bind(1, created_ms);
    reopen.bind(2, expires_ms);
    reopen.bind(3, preview_text);
    reopen.bind(4, preview_fingerprint);
    reopen.bind(5, id);
    if (reopen.exec() != 1) {
      return false;
    }
    SQLite::Statement votes(db_, "DELETE FROM approval_votes WHERE approval_id=?");
    votes.bind(1, id);
    votes.exec();
    return true;
  }

  // One process writes the file (DatabaseLock): every granted row at start-up was interrupted.
  std::vector<Approval> fail_interrupted(const std::string& reason) override {
    SQLite::Statement q(db_, "SELECT * FROM approvals WHERE state='granted'");
    std::vector<Approval> out = read_all(q);
    SQLite::Statement update(db_, "UPDATE approvals SET state='failed', reason=? WHERE state='granted'");
    update.bind(1, reason);
    update.exec();
    return out;
  }

  int set_thread(const std::string& id, const std::string& thread) override {
    SQLite::Statement q(db_, "UPDATE approvals SET thread=? WHERE id=?");
    q.bind(1, thread);
    q.bind(2, id);
    return q.exec();
  }

  std::vector<std::pair<std::string, std::string>> votes(const std::string& id) override {
    std::vector<std::pair<std::string, std::string>> out;
    SQLite::Statement q(db_, "SELECT voter, vote FROM approval_votes WHERE approval_id=? ORDER BY ts_ms");
    q.bind(1, id);
    while (q.executeStep()) {
      out.emplace_back(q.getColumn(0).getString(), q.getColumn(1).getString());
    }
    return out;
  }

  bool add_vote(const std::string& id, const std::string& voter, const std::string& vote, const std::string& reason,
                std::int64_t ts_ms, const std::string& person) override {
    SQLite::Statement insert(
        db_,
        "INSERT OR IGNORE INTO approval_votes (approval_id, voter, vote, reason, ts_ms, person) VALUES (?,?,?,?,?,?)");
    insert.bind(1, id);
    insert.bind(2, voter);
    insert.bind(3, vote);
    insert.bind(4, reason);
    insert.bind(5, ts_ms);
    insert.bind(6, person);
    return insert.exec() == 1;
  }

  ReservationCount count_reservations(std::int64_t since_ms, const std::string& request_id,
                                      const std::vector<std::string>& actions, bool per_subject,
                                      const std::string& person, const std::vector<std::string>& targets) override {
    std::string sql =
        "SELECT count(*), min(ts_ms) FROM rate_reservations WHERE ts_ms > ? AND request_id <> ? "
        "AND action IN (SELECT value FROM json_each(?))";
    sql += per_subject ? " AND person = ?" : " AND target IN (SELECT value FROM json_each(?))";
    SQLite::Statement q(db_, sql);
    q.bind(1, since_ms);
    q.bind(2, request_id);
    q.bind(3, rules::strings_text(actions));
    q.bind(4, per_subject ? person : rules::strings_text(targets));
    q.executeStep();
    ReservationCount counted;
    counted.count = q.getColumn(0).getInt64();
    if (!q.getColumn(1).isNull()) {
      counted.oldest_ms = q.getColumn(1).getInt64();
    }
    return counted;
  }

  void reserve(const RateReservation& r, std::int64_t ts_ms) override {
    SQLite::Statement insert(db_,
                             "INSERT OR IGNORE INTO rate_reservations (request_id, person, action, target, ts_ms) "
                             "VALUES (?,?,?,?,?)");
    insert.bind(1, r.request_id);
    insert.bind(2, r.person);
    insert.bind(3, r.action);
    insert.bind(4, r.target);
    insert.bind(5, ts_ms);
    insert.exec();
  }

  void release(const std::string& request_id) override {
    SQLite::Statement q(db_, "DELETE FROM rate_reservations WHERE request_id=?");
    q.bind(1, request_id);
    q.exec();
  }

 private:
  Approval read(SQLite::Statement& q) {
    Approval a = rules::approval_from_row([&q](const char* name) { return q.getColumn(name).getString(); },
                                          [&q](const char* name) { return q.getColumn(name).getInt64(); });
    for (const auto& [voter, vote] : votes(a.id)) {
      if (vote == "approve") {
        a.approved_by.push_back(voter);
      }
    }
    return a;
  }

  std::vector<Approval> read_all(SQLite::Statement& q) {
    std::vector<Approval> out;
    while (q.executeStep()) {
      out.push_back(read(q));
    }
    return out;
  }

  SQLite::Database& db_;
};

}  // namespace

std::string new_approval_id() {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr std::string_view kDigits = "23456789";
  std::string id;
  for (int i = 0; i < 5; ++i) {
    id += kAlphabet[generator() % (sizeof(kAlphabet) - 1)];
  }
  // Always at least one digit: the command parser takes a word for an id only
  // when it has one ("deny request 42" must not read "request" as the id).
  if (id.find_first_of(kDigits) == std::string::npos) {
    id[generator() % id.size()] = kDigits[generator() % kDigits.size()];
  }
  return id;
}

Result<std::unique_ptr<SqliteApprovalStore>> SqliteApprovalStore::open(const std::string& path) {
  auto store = store::SqliteStore::open(path);
  if (!store) {
    return fail(Errc::storage, "cannot open the approval store at " + path + ": " + store.error().message);
  }
  return open(std::move(*store));
}

Result<std::unique_ptr<SqliteApprovalStore>> SqliteApprovalStore::open(std::shared_ptr<store::SqliteStore> store) {
  return std::unique_ptr<SqliteApprovalStore>(new SqliteApprovalStore(std::move(store)));
}

SqliteApprovalStore::SqliteApprovalStore(std::shared_ptr<store::SqliteStore> store) : store_(std::move(store)) {}

SqliteApprovalStore::~SqliteApprovalStore() = default;

// SQLite's writer lock serialises every write of the file: rate limits need nothing more.
Result<void> SqliteApprovalStore::write_rows_now(RowsWork work, Serialise /*with*/) {
  return store_->write_now<void>([work = std::move(work)](SQLite::Database& db) {
    SqliteRows rows(db);
    return work(rows);
  });
}

asio::awaitable<Result<void>> SqliteApprovalStore::write_rows(RowsWork work, Serialise /*with*/) {
  std::function<Result<void>(SQLite::Database&)> in_tx = [work = std::move(work)](SQLite::Database& db) {
    SqliteRows rows(db);
    return work(rows);
  };
  Result<void> result = co_await store_->write<void>(std::move(in_tx));
  co_return result;
}

Result<void> SqliteApprovalStore::read_rows_now(RowsWork work) {
  return store_->read_now<void>([work = std::move(work)](SQLite::Database& db) {
    SqliteRows rows(db);
    return work(rows);
  });
}

asio::awaitable<Result<void>> SqliteApprovalStore::read_rows(RowsWork work) {
  std::function<Result<void>(SQLite::Database&)> in_tx = [work = std::move(work)](SQLite::Database& db) {
    SqliteRows rows(db);
    return work(rows);
  };
  Result<void> result = co_await store_->read<void>(std::move(in_tx));
  co_return result;
}

}  // namespace opsgate::approval
