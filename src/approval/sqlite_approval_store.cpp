#include "src/approval/sqlite_approval_store.hpp"

#include <algorithm>
#include <random>

#include <functional>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/audit/audit_hash.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::approval {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::int64_t ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string hash_of(const ActionRequest& request) {
  return audit::sha256_hex(request.canonical());
}

Approval read_row(SQLite::Database& db, SQLite::Statement& q) {
  Approval a;
  a.id = q.getColumn("id").getString();
  a.state = q.getColumn("state").getString();
  a.created_ms = q.getColumn("created_ms").getInt64();
  a.expires_ms = q.getColumn("expires_ms").getInt64();
  a.origin_request_id = q.getColumn("origin_request_id").getString();
  a.requester = q.getColumn("requester").getString();
  a.requester_name = q.getColumn("requester_name").getString();
  const json groups = json::parse(q.getColumn("requester_groups").getString(), nullptr, false);
  if (groups.is_array()) {
    for (const auto& g : groups) {
      if (g.is_string())
        a.requester_groups.push_back(g.get<std::string>());
    }
  }
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
      if (s.is_string())
        a.requirement.approvers.push_back(s.get<std::string>());
    }
  }
  a.requirement.quorum = q.getColumn("quorum").getInt();
  a.requirement.expiry = std::chrono::seconds((a.expires_ms - a.created_ms) / 1000);
  a.decided_by = q.getColumn("decided_by").getString();
  a.reason = q.getColumn("reason").getString();
  a.preview_text = q.getColumn("preview_text").getString();
  a.preview_fingerprint = q.getColumn("preview_fingerprint").getString();
  const json co = json::parse(q.getColumn("co_requesters").getString(), nullptr, false);
  if (co.is_array()) {
    for (const auto& c : co) {
      if (c.is_string())
        a.co_requesters.push_back(c.get<std::string>());
    }
  }
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

// The persons who voted `approve`, as the current policy links principals.
std::vector<std::string> approving_persons(SQLite::Database& db, const std::string& id, const PolicyEngine& policy) {
  std::vector<std::string> persons;
  SQLite::Statement q(db, "SELECT voter FROM approval_votes WHERE approval_id=? AND vote='approve'");
  q.bind(1, id);
  while (q.executeStep()) {
    std::string person = policy.person_of(q.getColumn(0).getString());
    if (std::find(persons.begin(), persons.end(), person) == persons.end()) {
      persons.push_back(std::move(person));
    }
  }
  return persons;
}

tl::unexpected<Error> storage_error(const std::exception& e) {
  return fail(Errc::storage, std::string("approval store: ") + e.what());
}

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

namespace {

// Each operation: one function of the connection, run by the store's writer
// (reads: a reader connection) inside its transaction, so two votes that
// arrive together are serialised and only one can move an approval to
// `granted`. A failed Result undoes the operation's own changes.

Result<Approval> create_tx(SQLite::Database& db, const ApprovalDraft& d) {
  try {
    const std::int64_t created = ms(d.now);
    const std::int64_t expires =
        created + std::chrono::duration_cast<std::chrono::milliseconds>(d.requirement.expiry).count();
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string id = new_approval_id();
      SQLite::Statement insert(db, R"(INSERT OR IGNORE INTO approvals
        (id, state, created_ms, expires_ms, origin_request_id, requester, requester_name, platform, channel, thread,
         action, params, break_glass_reason, request_hash, rule_id, approvers, quorum, preview_text,
         preview_fingerprint, requester_groups, co_requesters)
        VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?))");
      SQLite::bind(insert, id, created, expires, d.origin_request_id, d.requester.id, d.requester.display_name,
                   d.platform, d.channel, d.thread, d.request.action,
                   d.request.params.dump(-1, ' ', false, json::error_handler_t::replace), d.request.break_glass_reason,
                   hash_of(d.request), d.requirement.rule_id, json(d.requirement.approvers).dump(),
                   d.requirement.quorum, d.preview_text, d.preview_fingerprint,
                   json(d.requester.groups).dump(-1, ' ', false, json::error_handler_t::replace),
                   json(d.co_requesters).dump(-1, ' ', false, json::error_handler_t::replace));
      if (insert.exec() == 1) {
        auto a = load(db, id);
        return *a;
      }
    }
    return fail(Errc::storage, "could not allocate an approval id");
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<VoteOutcome> vote_tx(SQLite::Database& db, const std::string& id, const Principal& voter, bool approve,
                            const std::string& reason, const PolicyEngine& policy,
                            std::chrono::system_clock::time_point now) {
  try {
    // IMMEDIATE: take the write lock first, so another process voting on the
    // same file waits for this transaction instead of reading stale state.
    auto found = load(db, id);
    if (!found) {
      return refuse("There is no approval `" + id + "`. `approvals` lists the pending ones.");
    }
    Approval a = *found;
    if (a.state != "pending") {
      return refuse("Approval `" + id + "` is already " + a.state + ".", a);
    }
    if (ms(now) >= a.expires_ms) {
      SQLite::Statement expire(db, "UPDATE approvals SET state='expired', decided_ms=? WHERE id=? AND state='pending'");
      expire.bind(1, ms(now));
      expire.bind(2, id);
      expire.exec();
      a.state = "expired";
      return refuse("Approval `" + id + "` has expired; ask again.", a);
    }
    // Persons, not principal strings: bob on Slack and bob in the shell are one approver.
    const std::string person = policy.person_of(voter.id);
    if (person == policy.person_of(a.requester)) {
      const std::string as = voter.id == a.requester ? "" : " (asked as " + a.requester + ")";
      return refuse("You cannot approve or deny your own request (" + id + as + "); another approver has to.", a);
    }
    for (const auto& co : a.co_requesters) {
      if (person == policy.person_of(co)) {
        return refuse("You cannot approve or deny " + id + ": you triggered it (as " + co +
                          "), so you count as its requester; another approver has to.",
                      a);
      }
    }
    if (!policy.may_approve(voter, a.requirement)) {
      std::string who;
      for (const auto& s : a.requirement.approvers) who += (who.empty() ? "" : ", ") + s;
      return refuse(voter.id + " may not vote on `" + id + "`: approvers are " + who + ".", a);
    }
    if (hash_of(a.request) != a.request_hash) {
      SQLite::Statement broken(db, "UPDATE approvals SET state='failed', reason=? WHERE id=?");
      broken.bind(1, "request hash mismatch: the stored request was changed");
      broken.bind(2, id);
      broken.exec();
      a.state = "failed";
      return refuse("Approval `" + id + "` does not match the request it was asked for (hash mismatch); refusing it.",
                    a);
    }
    SQLite::Statement earlier(db, "SELECT voter FROM approval_votes WHERE approval_id=?");
    earlier.bind(1, id);
    while (earlier.executeStep()) {
      const std::string before = earlier.getColumn(0).getString();
      if (policy.person_of(before) == person) {
        const std::string as = before == voter.id ? "" : " (as " + before + ")";
        return refuse("You already voted on `" + id + "`" + as + "; each person counts once.", a);
      }
    }
    SQLite::Statement insert(
        db,
        "INSERT OR IGNORE INTO approval_votes (approval_id, voter, vote, reason, ts_ms, person) VALUES (?,?,?,?,?,?)");
    SQLite::bind(insert, id, voter.id, approve ? "approve" : "deny", reason, ms(now), person);
    if (insert.exec() == 0) {
      return refuse("You already voted on `" + id + "`; each person counts once.", a);
    }
    if (!approve) {
      SQLite::Statement deny(
          db,
          "UPDATE approvals SET state='denied', decided_by=?, reason=?, decided_ms=? WHERE id=? AND state='pending'");
      SQLite::bind(deny, voter.id, reason, ms(now), id);
      deny.exec();
      a.state = "denied";
      a.decided_by = voter.id;
      a.reason = reason;
      return VoteOutcome{VoteResult::denied, "denied by " + voter.id + (reason.empty() ? "" : ": " + reason), a};
    }
    const int approvals = static_cast<int>(approving_persons(db, id, policy).size());
    a.approved_by.push_back(voter.id);
    if (approvals < a.requirement.quorum) {
      return VoteOutcome{VoteResult::recorded,
                         "approval " + std::to_string(approvals) + " of " + std::to_string(a.requirement.quorum) +
                             " recorded for `" + id + "`",
                         a};
    }
    // The one transition that lets the request run: only a row still
    // pending can change, so a second vote racing this one gets `granted`
    // from the reload above and is refused.
    SQLite::Statement grant(
        db, "UPDATE approvals SET state='granted', decided_by=?, decided_ms=? WHERE id=? AND state='pending'");
    SQLite::bind(grant, voter.id, ms(now), id);
    if (grant.exec() != 1) {
      return refuse("Approval `" + id + "` was decided meanwhile.", a);
    }
    a.state = "granted";
    a.decided_by = voter.id;
    return VoteOutcome{VoteResult::granted, "granted", a};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<VoteOutcome> cancel_tx(SQLite::Database& db, const std::string& id, const Principal& who,
                              const PolicyEngine& policy, std::chrono::system_clock::time_point now) {
  try {
    auto found = load(db, id);
    if (!found) {
      return refuse("There is no approval `" + id + "`.");
    }
    Approval a = *found;
    if (policy.person_of(a.requester) != policy.person_of(who.id)) {
      return refuse("Only the requester (" + a.requester + ") can cancel `" + id + "`.", a);
    }
    if (a.state != "pending") {
      return refuse("Approval `" + id + "` is already " + a.state + ".", a);
    }
    SQLite::Statement cancel(
        db, "UPDATE approvals SET state='cancelled', decided_by=?, decided_ms=? WHERE id=? AND state='pending'");
    SQLite::bind(cancel, who.id, ms(now), id);
    cancel.exec();
    a.state = "cancelled";
    return VoteOutcome{VoteResult::denied, "cancelled by the requester", a};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> pending_tx(SQLite::Database& db, std::chrono::system_clock::time_point now) {
  try {
    std::vector<Approval> out;
    SQLite::Statement q(db, "SELECT * FROM approvals WHERE state='pending' AND expires_ms > ? ORDER BY created_ms");
    q.bind(1, ms(now));
    while (q.executeStep()) {
      out.push_back(read_row(db, q));
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> finish_tx(SQLite::Database& db, const std::string& id, bool ok) {
  try {
    SQLite::Statement q(db, "UPDATE approvals SET state=? WHERE id=? AND state='granted'");
    q.bind(1, ok ? "executed" : "failed");
    q.bind(2, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> expire_tx(SQLite::Database& db, std::chrono::system_clock::time_point now) {
  try {
    std::vector<Approval> out;
    SQLite::Statement q(db, "SELECT * FROM approvals WHERE state='pending' AND expires_ms <= ?");
    q.bind(1, ms(now));
    while (q.executeStep()) {
      out.push_back(read_row(db, q));
    }
    SQLite::Statement update(
        db, "UPDATE approvals SET state='expired', decided_ms=? WHERE state='pending' AND expires_ms <= ?");
    update.bind(1, ms(now));
    update.bind(2, ms(now));
    update.exec();
    for (auto& a : out) a.state = "expired";
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<Approval> restart_vote_tx(SQLite::Database& db, const std::string& id, const std::string& preview_text,
                                 const std::string& preview_fingerprint, std::chrono::system_clock::time_point now) {
  try {
    auto found = load(db, id);
    if (!found) {
      return fail(Errc::not_found, "there is no approval `" + id + "`");
    }
    if (found->state != "granted") {
      return fail(Errc::conflict, "approval `" + id + "` is " + found->state + ", not granted");
    }
    const std::int64_t lifetime = found->expires_ms - found->created_ms;
    SQLite::Statement reopen(db, R"(UPDATE approvals SET state='pending', decided_by=NULL, decided_ms=NULL,
      created_ms=?, expires_ms=?, preview_text=?, preview_fingerprint=? WHERE id=? AND state='granted')");
    SQLite::bind(reopen, ms(now), ms(now) + lifetime, preview_text, preview_fingerprint, id);
    if (reopen.exec() != 1) {
      return fail(Errc::conflict, "approval `" + id + "` changed meanwhile");
    }
    SQLite::Statement votes(db, "DELETE FROM approval_votes WHERE approval_id=?");
    votes.bind(1, id);
    votes.exec();
    auto reopened = load(db, id);
    return *reopened;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Approval>> recover_interrupted_tx(SQLite::Database& db) {
  try {
    std::vector<Approval> out;
    SQLite::Statement q(db, "SELECT * FROM approvals WHERE state='granted'");
    while (q.executeStep()) {
      out.push_back(read_row(db, q));
    }
    db.exec(
        "UPDATE approvals SET state='failed', reason='opsgate restarted before the approved request finished' WHERE "
        "state='granted'");
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<RateVerdict> reserve_tx(SQLite::Database& db, const RateReservation& r) {
  try {
    // IMMEDIATE: the check and the reservation are one step for every
    // connection to this file, so a burst cannot slip past the limit.
    for (const auto& check : r.checks) {
      const std::int64_t since =
          ms(r.now) - std::chrono::duration_cast<std::chrono::milliseconds>(check.window).count();
      std::string sql =
          "SELECT count(*), min(ts_ms) FROM rate_reservations WHERE ts_ms > ? AND request_id <> ? "
          "AND action IN (SELECT value FROM json_each(?))";
      sql += check.per == "subject" ? " AND person = ?" : " AND target IN (SELECT value FROM json_each(?))";
      SQLite::Statement q(db, sql);
      SQLite::bind(q, since, r.request_id, json(check.actions).dump(),
                   check.per == "subject" ? r.person : json(check.targets).dump());
      q.executeStep();
      const std::int64_t counted = q.getColumn(0).getInt64();
      if (counted < check.limit) {
        continue;
      }
      const std::int64_t oldest = q.getColumn(1).isNull() ? ms(r.now) : q.getColumn(1).getInt64();
      const std::int64_t reset = oldest + std::chrono::duration_cast<std::chrono::milliseconds>(check.window).count();
      RateVerdict refused;
      refused.reserved = false;
      refused.exceeded = check;
      refused.retry_after_s = std::max<std::int64_t>(1, (reset - ms(r.now)) / 1000);
      return refused;  // the transaction rolls back: nothing reserved
    }
    if (!r.checks.empty()) {
      SQLite::Statement insert(db,
                               "INSERT OR IGNORE INTO rate_reservations (request_id, person, action, target, ts_ms) "
                               "VALUES (?,?,?,?,?)");
      SQLite::bind(insert, r.request_id, r.person, r.action, r.target, ms(r.now));
      insert.exec();
    }
    return RateVerdict{};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> release_tx(SQLite::Database& db, const std::string& request_id) {
  try {
    SQLite::Statement q(db, "DELETE FROM rate_reservations WHERE request_id=?");
    q.bind(1, request_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<Approval> get_tx(SQLite::Database& db, const std::string& id) {
  try {
    auto found = load(db, id);
    if (!found) {
      return fail(Errc::not_found, "there is no approval " + id);
    }
    return *found;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> attach_thread_tx(SQLite::Database& db, const std::string& id, const std::string& thread) {
  try {
    SQLite::Statement q(db, "UPDATE approvals SET thread=? WHERE id=?");
    q.bind(1, thread);
    q.bind(2, id);
    if (q.exec() != 1) {
      return fail(Errc::not_found, "there is no approval " + id);
    }
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

}  // namespace

// Synchronous: wait for the commit on this thread (tests race two of them).
Result<Approval> SqliteApprovalStore::create_now(const ApprovalDraft& draft) {
  return store_->write_now<Approval>([&draft](SQLite::Database& db) { return create_tx(db, draft); });
}

Result<VoteOutcome> SqliteApprovalStore::vote_now(const std::string& id, const Principal& voter, bool approve,
                                                  const std::string& reason, const PolicyEngine& policy,
                                                  std::chrono::system_clock::time_point now) {
  return store_->write_now<VoteOutcome>(
      [&](SQLite::Database& db) { return vote_tx(db, id, voter, approve, reason, policy, now); });
}

Result<VoteOutcome> SqliteApprovalStore::cancel_now(const std::string& id, const Principal& who,
                                                    const PolicyEngine& policy,
                                                    std::chrono::system_clock::time_point now) {
  return store_->write_now<VoteOutcome>([&](SQLite::Database& db) { return cancel_tx(db, id, who, policy, now); });
}

Result<std::vector<Approval>> SqliteApprovalStore::pending_now(std::chrono::system_clock::time_point now) {
  return store_->read_now<std::vector<Approval>>([now](SQLite::Database& db) { return pending_tx(db, now); });
}

Result<void> SqliteApprovalStore::finish_now(const std::string& id, bool ok) {
  return store_->write_now<void>([&](SQLite::Database& db) { return finish_tx(db, id, ok); });
}

Result<std::vector<Approval>> SqliteApprovalStore::expire_now(std::chrono::system_clock::time_point now) {
  return store_->write_now<std::vector<Approval>>([now](SQLite::Database& db) { return expire_tx(db, now); });
}

Result<Approval> SqliteApprovalStore::restart_vote_now(const std::string& id, const std::string& preview_text,
                                                       const std::string& preview_fingerprint,
                                                       std::chrono::system_clock::time_point now) {
  return store_->write_now<Approval>(
      [&](SQLite::Database& db) { return restart_vote_tx(db, id, preview_text, preview_fingerprint, now); });
}

Result<std::vector<Approval>> SqliteApprovalStore::recover_interrupted() {
  return store_->write_now<std::vector<Approval>>([](SQLite::Database& db) { return recover_interrupted_tx(db); });
}

Result<RateVerdict> SqliteApprovalStore::reserve_now(const RateReservation& reservation) {
  return store_->write_now<RateVerdict>([&](SQLite::Database& db) { return reserve_tx(db, reservation); });
}

Result<void> SqliteApprovalStore::release_now(const std::string& request_id) {
  return store_->write_now<void>([&](SQLite::Database& db) { return release_tx(db, request_id); });
}

Result<Approval> SqliteApprovalStore::get_now(const std::string& id) {
  return store_->read_now<Approval>([&](SQLite::Database& db) { return get_tx(db, id); });
}

Result<void> SqliteApprovalStore::attach_thread_now(const std::string& id, const std::string& thread) {
  return store_->write_now<void>([&](SQLite::Database& db) { return attach_thread_tx(db, id, thread); });
}

// The coroutines: the same work, resuming on the caller's executor; each
// lambda owns copies of its arguments (the coroutine frame may move on).
asio::awaitable<Result<Approval>> SqliteApprovalStore::get(std::string id) {
  // A named function, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  std::function<Result<Approval>(SQLite::Database&)> work = [id = std::move(id)](SQLite::Database& db) {
    return get_tx(db, id);
  };
  Result<Approval> result = co_await store_->read<Approval>(std::move(work));
  co_return result;
}

asio::awaitable<Result<void>> SqliteApprovalStore::attach_thread(std::string id, std::string thread) {
  std::function<Result<void>(SQLite::Database&)> work = [id = std::move(id),
                                                         thread = std::move(thread)](SQLite::Database& db) {
    return attach_thread_tx(db, id, thread);
  };
  Result<void> result = co_await store_->write<void>(std::move(work));
  co_return result;
}

asio::awaitable<Result<Approval>> SqliteApprovalStore::create(ApprovalDraft draft) {
  std::function<Result<Approval>(SQLite::Database&)> work = [draft = std::move(draft)](SQLite::Database& db) {
    return create_tx(db, draft);
  };
  Result<Approval> result = co_await store_->write<Approval>(std::move(work));
  co_return result;
}

asio::awaitable<Result<VoteOutcome>> SqliteApprovalStore::vote(std::string id, Principal voter, bool approve,
                                                               std::string reason,
                                                               std::shared_ptr<const PolicyEngine> policy,
                                                               std::chrono::system_clock::time_point now) {
  std::function<Result<VoteOutcome>(SQLite::Database&)> work =
      [id = std::move(id), voter = std::move(voter), approve, reason = std::move(reason), policy = std::move(policy),
       now](SQLite::Database& db) { return vote_tx(db, id, voter, approve, reason, *policy, now); };
  Result<VoteOutcome> result = co_await store_->write<VoteOutcome>(std::move(work));
  co_return result;
}

asio::awaitable<Result<VoteOutcome>> SqliteApprovalStore::cancel(std::string id, Principal who,
                                                                 std::shared_ptr<const PolicyEngine> policy,
                                                                 std::chrono::system_clock::time_point now) {
  std::function<Result<VoteOutcome>(SQLite::Database&)> work = [id = std::move(id), who = std::move(who),
                                                                policy = std::move(policy), now](SQLite::Database& db) {
    return cancel_tx(db, id, who, *policy, now);
  };
  Result<VoteOutcome> result = co_await store_->write<VoteOutcome>(std::move(work));
  co_return result;
}

asio::awaitable<Result<std::vector<Approval>>> SqliteApprovalStore::pending(std::chrono::system_clock::time_point now) {
  std::function<Result<std::vector<Approval>>(SQLite::Database&)> work = [now](SQLite::Database& db) {
    return pending_tx(db, now);
  };
  Result<std::vector<Approval>> result = co_await store_->read<std::vector<Approval>>(std::move(work));
  co_return result;
}

asio::awaitable<Result<void>> SqliteApprovalStore::finish(std::string id, bool ok) {
  std::function<Result<void>(SQLite::Database&)> work = [id = std::move(id), ok](SQLite::Database& db) {
    return finish_tx(db, id, ok);
  };
  Result<void> result = co_await store_->write<void>(std::move(work));
  co_return result;
}

asio::awaitable<Result<std::vector<Approval>>> SqliteApprovalStore::expire_due(
    std::chrono::system_clock::time_point now) {
  std::function<Result<std::vector<Approval>>(SQLite::Database&)> work = [now](SQLite::Database& db) {
    return expire_tx(db, now);
  };
  Result<std::vector<Approval>> result = co_await store_->write<std::vector<Approval>>(std::move(work));
  co_return result;
}

asio::awaitable<Result<Approval>> SqliteApprovalStore::restart_vote(std::string id, std::string preview_text,
                                                                    std::string preview_fingerprint,
                                                                    std::chrono::system_clock::time_point now) {
  std::function<Result<Approval>(SQLite::Database&)> work =
      [id = std::move(id), text = std::move(preview_text), fingerprint = std::move(preview_fingerprint),
       now](SQLite::Database& db) { return restart_vote_tx(db, id, text, fingerprint, now); };
  Result<Approval> result = co_await store_->write<Approval>(std::move(work));
  co_return result;
}

asio::awaitable<Result<RateVerdict>> SqliteApprovalStore::reserve(RateReservation reservation) {
  std::function<Result<RateVerdict>(SQLite::Database&)> work =
      [reservation = std::move(reservation)](SQLite::Database& db) { return reserve_tx(db, reservation); };
  Result<RateVerdict> result = co_await store_->write<RateVerdict>(std::move(work));
  co_return result;
}

asio::awaitable<Result<void>> SqliteApprovalStore::release(std::string request_id) {
  std::function<Result<void>(SQLite::Database&)> work = [request_id = std::move(request_id)](SQLite::Database& db) {
    return release_tx(db, request_id);
  };
  Result<void> result = co_await store_->write<void>(std::move(work));
  co_return result;
}

}  // namespace opsgate::approval
