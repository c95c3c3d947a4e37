#include "src/approval/pg_approval_store.hpp"

#include <pqxx/pqxx>

#include "src/approval/approval_rules.hpp"
#include "src/store/pg_store.hpp"

namespace opsgate::approval {

namespace asio = boost::asio;

namespace {

constexpr const char* kApprovalLock = "hashtextextended('opsgate.approval:' || $1, 0)";

// The rules' row operations in PostgreSQL's SQL, in the transaction they run in.
class PgRows final : public ApprovalRows {
 public:
  explicit PgRows(pqxx::transaction_base& tx) : tx_(tx) {}

  std::optional<Approval> find(const std::string& id, bool for_update) override {
    const pqxx::result r =
        tx_.exec_params(std::string("SELECT * FROM approvals WHERE id=$1") + (for_update ? " FOR UPDATE" : ""), id);
    if (r.empty()) {
      return std::nullopt;
    }
    return read(r[0]);
  }

  std::vector<Approval> pending(std::int64_t now_ms) override {
    return read_all(tx_.exec_params(
        "SELECT * FROM approvals WHERE state='pending' AND expires_ms > $1 ORDER BY created_ms", now_ms));
  }

  bool insert(const Approval& a) override {
    const pqxx::result r = tx_.exec_params(
        R"(INSERT INTO approvals
      (id, state, created_ms, expires_ms, origin_request_id, requester, requester_name, platform, channel, thread,
       action, params, break_glass_reason, request_hash, rule_id, approvers, quorum, preview_text,
       preview_fingerprint, requester_groups, co_requesters)
      VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
      ON CONFLICT (id) DO NOTHING)",
        a.id, a.state, a.created_ms, a.expires_ms, a.origin_request_id, a.requester, a.requester_name, a.platform,
        a.channel, a.thread, a.request.action, rules::params_text(a.request), a.request.break_glass_reason,
        a.request_hash, a.requirement.rule_id, rules::strings_text(a.requirement.approvers), a.requirement.quorum,
        a.preview_text, a.preview_fingerprint, rules::strings_text(a.requester_groups),
        rules::strings_text(a.co_requesters));
    return r.affected_rows() == 1;
  }

  int transition(const std::string& id, const Transition& change) override {
    // Only the fields set change; the condition on the state is decided by
    // the database, RETURNING says whether it held.
    std::vector<std::string> values{change.to};
    std::string sql = "UPDATE approvals SET state=$1";
    auto set = [&](const char* column, std::string value) {
      values.push_back(std::move(value));
      sql += std::string(", ") + column + "=$" + std::to_string(values.size());
    };
    if (change.decided_by) set("decided_by", *change.decided_by);
    if (change.reason) set("reason", *change.reason);
    if (change.decided_ms) set("decided_ms", std::to_string(*change.decided_ms));
    values.push_back(id);
    sql += " WHERE id=$" + std::to_string(values.size());
    if (!change.from.empty()) {
      values.push_back(change.from);
      sql += " AND state=$" + std::to_string(values.size());
    }
    sql += " RETURNING id";
    return static_cast<int>(tx_.exec_params(sql, pqxx::prepare::make_dynamic_params(values)).size());
  }

  std::vector<Approval> expire_due(std::int64_t now_ms) override {
    // SKIP LOCKED: a row another replica is expiring (or voting on) right
    // now is theirs; each expired approval is returned to one replica.
    return read_all(tx_.exec_params(
        "UPDATE approvals SET state='expired', decided_ms=$1 WHERE id IN (SELECT id FROM approvals "
        "WHERE state='pending' AND expires_ms <= $1 ORDER BY expires_ms FOR UPDATE SKIP LOCKED) RETURNING *",
        now_ms));
  }

  bool reopen(const std::string& id, std::int64_t created_ms, std::int64_t expires_ms, const std::string& preview_text,
              const std::string& preview_fingerprint) override {
    const pqxx::result r = tx_.exec_params(
        "UPDATE approvals SET state='pending', decided_by=NULL, decided_ms=NULL, created_ms=$1, expires_ms=$2, "
        "preview_text=$3, preview_fingerprint=$4 WHERE id=$5 AND state='granted' RETURNING id",
        created_ms, expires_ms, preview_text, preview_fingerprint, id);
    if (r.size() != 1) {
      return false;
    }
    tx_.exec_params0("DELETE FROM approval_votes WHERE approval_id=$1", id);
    return true;
  }

  std::vector<Approval> fail_interrupted(const std::string& reason) override {
    // A granted approval whose runner is alive is locked by it (granted_here);
    // one whose lock this session can take was left by a replica that died
    // (or stopped) before finishing it.
    std::vector<Approval> out;
    const pqxx::result granted =
        tx_.exec("SELECT id FROM approvals WHERE state='granted' ORDER BY id FOR UPDATE SKIP LOCKED");
    for (const pqxx::row& row : granted) {
      const std::string id = row[0].as<std::string>();
      if (!tx_.exec_params1(std::string("SELECT pg_try_advisory_xact_lock(") + kApprovalLock + ")", id)[0].as<bool>()) {
        continue;
      }
      const pqxx::result failed = tx_.exec_params(
          "UPDATE approvals SET state='failed', reason=$2 WHERE id=$1 AND state='granted' RETURNING *", id, reason);
      for (const pqxx::row& r : failed) {
        Approval a = read(r);
        a.state = "granted";  // what it was: the caller reports it as interrupted
        out.push_back(std::move(a));
      }
    }
    return out;
  }

  std::vector<Approval> fail_orphaned(const std::string& reason) override {
    // Unlike fail_interrupted (start-up, a fresh session), this runs beside
    // this replica's own runs, and an advisory lock is re-entrant within its
    // session: so ask pg_locks whether ANY session holds the run lock (a
    // one-bigint advisory key shows as classid = high 32 bits, objid = low
    // 32 bits, objsubid = 1). A run's lock is taken in the transaction that
    // grants it, so a committed `granted` without a holder is a dead runner.
    // SKIP LOCKED: a row being finished or voted on now is not orphaned.
    std::vector<Approval> out;
    const pqxx::result granted =
        tx_.exec("SELECT id FROM approvals WHERE state='granted' ORDER BY id FOR UPDATE SKIP LOCKED");
    for (const pqxx::row& row : granted) {
      const std::string id = row[0].as<std::string>();
      const bool held = tx_.exec_params1(std::string("WITH k AS (SELECT ") + kApprovalLock +
                                             " AS key) SELECT EXISTS (SELECT 1 FROM pg_locks, k "
                                             "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
                                             "AND classid::bigint = ((k.key >> 32) & 4294967295) "
                                             "AND objid::bigint = (k.key & 4294967295))",
                                         id)[0]
                            .as<bool>();
      if (held) {
        continue;
      }
      const pqxx::result failed = tx_.exec_params(
          "UPDATE approvals SET state='failed', reason=$2 WHERE id=$1 AND state='granted' RETURNING *", id, reason);
      for (const pqxx::row& r : failed) {
        Approval a = read(r);
        a.state = "granted";  // what it was: the caller reports it as interrupted
        out.push_back(std::move(a));
      }
    }
    return out;
  }

  void granted_here(const std::string& id) override {
    // Session-level: held past this transaction, until finished_here (or
    // until this replica's connection ends, as when it dies).
    tx_.exec_params(std::string("SELECT pg_advisory_lock(") + kApprovalLock + ")", id);
  }

  void finished_here(const std::string& id) override {
    // False (and a notice) when this session does not hold it: the connection
    // was re-opened meanwhile, or another replica granted it.
    tx_.exec_params(std::string("SELECT pg_advisory_unlock(") + kApprovalLock + ")", id);
  }

  int set_thread(const std::string& id, const std::string& thread) override {
    return static_cast<int>(
        tx_.exec_params("UPDATE approvals SET thread=$1 WHERE id=$2 RETURNING id", thread, id).size());
  }

  std::vector<std::pair<std::string, std::string>> votes(const std::string& id) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const pqxx::row& r :
         tx_.exec_params("SELECT voter, vote FROM approval_votes WHERE approval_id=$1 ORDER BY ts_ms, voter", id)) {
      out.emplace_back(r[0].as<std::string>(), r[1].as<std::string>());
    }
    return out;
  }

  bool add_vote(const std::string& id, const std::string& voter, const std::string& vote, const std::string& reason,
                std::int64_t ts_ms, const std::string& person) override {
    return tx_
               .exec_params(
                   "INSERT INTO approval_votes (approval_id, voter, vote, reason, ts_ms, person) "
                   "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
                   id, voter, vote, reason, ts_ms, person)
               .affected_rows() == 1;
  }

  ReservationCount count_reservations(std::int64_t since_ms, const std::string& request_id,
                                      const std::vector<std::string>& actions, bool per_subject,
                                      const std::string& person, const std::vector<std::string>& targets) override {
    std::string sql =
        "SELECT count(*), min(ts_ms) FROM rate_reservations WHERE ts_ms > $1 AND request_id <> $2 "
        "AND action IN (SELECT json_array_elements_text($3::json))";
    sql += per_subject ? " AND person = $4" : " AND target IN (SELECT json_array_elements_text($4::json))";
    const pqxx::row r = tx_.exec_params1(sql, since_ms, request_id, rules::strings_text(actions),
                                         per_subject ? person : rules::strings_text(targets));
    ReservationCount counted;
    counted.count = r[0].as<std::int64_t>();
    if (!r[1].is_null()) {
      counted.oldest_ms = r[1].as<std::int64_t>();
    }
    return counted;
  }

  void reserve(const RateReservation& r, std::int64_t ts_ms) override {
    tx_.exec_params0(
        "INSERT INTO rate_reservations (request_id, person, action, target, ts_ms) VALUES ($1,$2,$3,$4,$5) "
        "ON CONFLICT (request_id) DO NOTHING",
        r.request_id, r.person, r.action, r.target, ts_ms);
  }

  void release(const std::string& request_id) override {
    tx_.exec_params0("DELETE FROM rate_reservations WHERE request_id=$1", request_id);
  }

 private:
  Approval read(const pqxx::row& row) {
    Approval a = rules::approval_from_row(
        [&row](const char* name) {
          const pqxx::field f = row[name];
          return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
        },
        [&row](const char* name) {
          const pqxx::field f = row[name];
          return f.is_null() ? std::int64_t{0} : f.as<std::int64_t>();
        });
    for (const auto& [voter, vote] : votes(a.id)) {
      if (vote == "approve") {
        a.approved_by.push_back(voter);
      }
    }
    return a;
  }

  std::vector<Approval> read_all(const pqxx::result& result) {
    std::vector<Approval> out;
    for (const pqxx::row& row : result) {
      out.push_back(read(row));
    }
    return out;
  }

  pqxx::transaction_base& tx_;
};

std::int64_t lock_for(RulesApprovalStore::Serialise with) {
  return with == RulesApprovalStore::Serialise::rate_limits ? store::kPgRateLimitLock : 0;
}

}  // namespace

Result<std::unique_ptr<PgApprovalStore>> PgApprovalStore::open(const store::PgOptions& options) {
  auto store = store::PgStore::open(options);
  if (!store) {
    return tl::unexpected(store.error());
  }
  return open(std::move(*store));
}

Result<std::unique_ptr<PgApprovalStore>> PgApprovalStore::open(std::shared_ptr<store::PgStore> store) {
  return std::unique_ptr<PgApprovalStore>(new PgApprovalStore(std::move(store)));
}

PgApprovalStore::PgApprovalStore(std::shared_ptr<store::PgStore> store) : store_(std::move(store)) {}

PgApprovalStore::~PgApprovalStore() = default;

Result<void> PgApprovalStore::write_rows_now(RowsWork work, Serialise with) {
  return store_->write_now<void>(
      [work = std::move(work)](pqxx::transaction_base& tx) {
        PgRows rows(tx);
        return work(rows);
      },
      lock_for(with));
}

asio::awaitable<Result<void>> PgApprovalStore::write_rows(RowsWork work, Serialise with) {
  std::function<Result<void>(pqxx::transaction_base&)> in_tx = [work = std::move(work)](pqxx::transaction_base& tx) {
    PgRows rows(tx);
    return work(rows);
  };
  Result<void> result = co_await store_->write<void>(std::move(in_tx), lock_for(with));
  co_return result;
}

Result<void> PgApprovalStore::read_rows_now(RowsWork work) {
  return store_->read_now<void>([work = std::move(work)](pqxx::transaction_base& tx) {
    PgRows rows(tx);
    return work(rows);
  });
}

asio::awaitable<Result<void>> PgApprovalStore::read_rows(RowsWork work) {
  std::function<Result<void>(pqxx::transaction_base&)> in_tx = [work = std::move(work)](pqxx::transaction_base& tx) {
    PgRows rows(tx);
    return work(rows);
  };
  Result<void> result = co_await store_->read<void>(std::move(in_tx));
  co_return result;
}

}  // namespace opsgate::approval
