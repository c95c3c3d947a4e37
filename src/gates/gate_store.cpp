#include "src/gates/gate_store.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

namespace opsgate::gates {

using nlohmann::json;

namespace {

constexpr const char* kSchema = R"(
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
)";

tl::unexpected<Error> storage_error(const std::exception& e) {
  return fail(Errc::storage, std::string("gate store: ") + e.what());
}

Gate read_gate(SQLite::Statement& q) {
  Gate g;
  g.id = q.getColumn("id").getString();
  g.client = q.getColumn("client").getString();
  g.source = q.getColumn("source").getString();
  g.dedup_key = q.getColumn("dedup_key").getString();
  g.body_hash = q.getColumn("body_hash").getString();
  g.request = request_from_json(json::parse(q.getColumn("request").getString(), nullptr, false));
  g.state = parse_gate_state(q.getColumn("state").getString()).value_or(GateState::rejected);
  g.requester = q.getColumn("requester").getString();
  g.triggered_principal = q.getColumn("triggered_principal").getString();
  g.created_ms = q.getColumn("created_ms").getInt64();
  g.expires_ms = q.getColumn("expires_ms").getInt64();
  g.decided_ms = q.getColumn("decided_ms").getInt64();
  g.decided_by = q.getColumn("decided_by").getString();
  g.comment = q.getColumn("comment").getString();
  g.rule_id = q.getColumn("rule_id").getString();
  const json approvers = json::parse(q.getColumn("approvers").getString(), nullptr, false);
  if (approvers.is_array()) {
    for (const auto& a : approvers) {
      if (a.is_string()) {
        g.approvers.push_back(a.get<std::string>());
      }
    }
  }
  g.quorum = q.getColumn("quorum").getInt();
  g.approval_id = q.getColumn("approval_id").getString();
  g.platform = q.getColumn("platform").getString();
  g.channel = q.getColumn("channel").getString();
  g.thread = q.getColumn("thread").getString();
  g.callback_kind = q.getColumn("callback_kind").getString();
  g.callback = json::parse(q.getColumn("callback").getString(), nullptr, false);
  if (!g.callback.is_object()) {
    g.callback = json::object();
  }
  return g;
}

std::optional<Gate> load(SQLite::Database& db, const std::string& where, const std::vector<std::string>& args) {
  SQLite::Statement q(db, "SELECT * FROM gates WHERE " + where);
  for (std::size_t i = 0; i < args.size(); ++i) {
    q.bind(static_cast<int>(i + 1), args[i]);
  }
  if (!q.executeStep()) {
    return std::nullopt;
  }
  return read_gate(q);
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Result<std::unique_ptr<GateStore>> GateStore::open(const std::string& path) {
  try {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db->setBusyTimeout(5000);
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=FULL");
    db->exec(kSchema);
    return std::unique_ptr<GateStore>(new GateStore(std::move(db)));
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot open the gate store at " + path + ": " + e.what());
  }
}

GateStore::GateStore(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

GateStore::~GateStore() { worker_.join(); }

Result<GateStore::Inserted> GateStore::insert_now(const Gate& g) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto existing = load(*db_, "client=? AND dedup_key=?", {g.client, g.dedup_key})) {
      if (existing->body_hash != g.body_hash) {
        return fail(Errc::conflict, "the key " + g.dedup_key + " was used for gate " + existing->id +
                                        " with a different request; use a new key for a new request");
      }
      return Inserted{*existing, false};
    }
    SQLite::Statement q(*db_, R"(INSERT INTO gates (id, client, source, dedup_key, body_hash, request, state, requester,
        triggered_principal, created_ms, expires_ms, decided_ms, decided_by, comment, rule_id, approvers, quorum,
        callback_kind, callback, platform, channel) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?))");
    q.bind(1, g.id);
    q.bind(2, g.client);
    q.bind(3, g.source);
    q.bind(4, g.dedup_key);
    q.bind(5, g.body_hash);
    q.bind(6, dump(request_json(g.request)));
    q.bind(7, std::string(to_string(g.state)));
    q.bind(8, g.requester);
    q.bind(9, g.triggered_principal);
    q.bind(10, g.created_ms);
    q.bind(11, g.expires_ms);
    q.bind(12, g.decided_ms);
    q.bind(13, g.decided_by);
    q.bind(14, g.comment);
    q.bind(15, g.rule_id);
    q.bind(16, dump(json(g.approvers)));
    q.bind(17, g.quorum);
    q.bind(18, g.callback_kind);
    q.bind(19, dump(g.callback));
    q.bind(20, g.platform);
    q.bind(21, g.channel);
    q.exec();
    tx.commit();
    return Inserted{g, true};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<Gate> GateStore::get_now(const std::string& id) {
  std::lock_guard lock(mutex_);
  try {
    auto found = load(*db_, "id=?", {id});
    if (!found) {
      return fail(Errc::not_found, "there is no gate " + id);
    }
    return *found;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> GateStore::by_approval_now(const std::string& approval_id) {
  std::lock_guard lock(mutex_);
  try {
    return load(*db_, "approval_id=? AND approval_id != ''", {approval_id});
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> GateStore::by_key_now(const std::string& client, const std::string& dedup_key) {
  std::lock_guard lock(mutex_);
  try {
    return load(*db_, "client=? AND dedup_key=?", {client, dedup_key});
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Gate>> GateStore::pending_now() {
  std::lock_guard lock(mutex_);
  try {
    std::vector<Gate> out;
    SQLite::Statement q(*db_, "SELECT * FROM gates WHERE state='pending' ORDER BY created_ms");
    while (q.executeStep()) {
      out.push_back(read_gate(q));
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> GateStore::set_approval_now(const std::string& id, const std::string& approval_id) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE gates SET approval_id=? WHERE id=?");
    q.bind(1, approval_id);
    q.bind(2, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> GateStore::set_thread_now(const std::string& id, const std::string& platform, const std::string& channel,
                                   const std::string& thread) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE gates SET platform=?, channel=?, thread=? WHERE id=?");
    q.bind(1, platform);
    q.bind(2, channel);
    q.bind(3, thread);
    q.bind(4, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> GateStore::decide_now(const std::string& id, GateState state, const std::string& by,
                                              const std::string& comment, std::int64_t now_ms,
                                              std::int64_t deadline_ms) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement q(*db_,
                        "UPDATE gates SET state=?, decided_by=?, comment=?, decided_ms=? WHERE id=? AND state='pending'");
    q.bind(1, std::string(to_string(state)));
    q.bind(2, by);
    q.bind(3, comment);
    q.bind(4, now_ms);
    q.bind(5, id);
    if (q.exec() != 1) {
      return std::optional<Gate>{};
    }
    auto gate = load(*db_, "id=?", {id});
    if (gate && !gate->callback_kind.empty()) {
      SQLite::Statement out(*db_, "INSERT INTO gate_outbox (gate_id, state, first_ms, next_ms, deadline_ms) "
                                  "VALUES (?, 'pending', ?, ?, ?)");
      out.bind(1, id);
      out.bind(2, now_ms);
      out.bind(3, now_ms);
      out.bind(4, deadline_ms);
      out.exec();
    }
    tx.commit();
    return gate;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Delivery>> GateStore::due_now(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  try {
    std::vector<Delivery> out;
    SQLite::Statement q(*db_, "SELECT id, gate_id, attempts, first_ms, deadline_ms, alerted FROM gate_outbox "
                              "WHERE state='pending' AND next_ms <= ? ORDER BY next_ms LIMIT 64");
    q.bind(1, now_ms);
    while (q.executeStep()) {
      out.push_back(Delivery{q.getColumn(0).getInt64(), q.getColumn(1).getString(), q.getColumn(2).getInt(),
                             q.getColumn(3).getInt64(), q.getColumn(4).getInt64(), q.getColumn(5).getInt() != 0});
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> GateStore::delivered_now(std::int64_t delivery_id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE gate_outbox SET state='done', attempts=attempts+1, done_ms=?, last_error='' WHERE id=?");
    q.bind(1, now_ms);
    q.bind(2, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> GateStore::retry_at_now(std::int64_t delivery_id, std::int64_t next_ms, const std::string& error, bool alerted) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE gate_outbox SET attempts=attempts+1, next_ms=?, last_error=?, alerted=? WHERE id=?");
    q.bind(1, next_ms);
    q.bind(2, error);
    q.bind(3, alerted ? 1 : 0);
    q.bind(4, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> GateStore::give_up_now(std::int64_t delivery_id, const std::string& error) {
  std::lock_guard lock(mutex_);
  try {
    SQLite::Statement q(*db_, "UPDATE gate_outbox SET state='dead', attempts=attempts+1, last_error=? WHERE id=?");
    q.bind(1, error);
    q.bind(2, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<std::string>> GateStore::delivery_states_now(const std::string& gate_id) {
  std::lock_guard lock(mutex_);
  try {
    std::vector<std::string> out;
    SQLite::Statement q(*db_, "SELECT state FROM gate_outbox WHERE gate_id=? ORDER BY id");
    q.bind(1, gate_id);
    while (q.executeStep()) {
      out.push_back(q.getColumn(0).getString());
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}


boost::asio::awaitable<Result<GateStore::Inserted>> GateStore::insert(Gate gate) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = insert_now(gate);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<Gate>> GateStore::get(std::string id) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = get_now(id);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::by_approval(std::string approval_id) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = by_approval_now(approval_id);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::by_key(std::string client, std::string dedup_key) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = by_key_now(client, dedup_key);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::vector<Gate>>> GateStore::pending() {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = pending_now();
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<void>> GateStore::set_approval(std::string id, std::string approval_id) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = set_approval_now(id, approval_id);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<void>> GateStore::set_thread(std::string id, std::string platform, std::string channel, std::string thread) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = set_thread_now(id, platform, channel, thread);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::decide(std::string id, GateState state, std::string by, std::string comment, std::int64_t now_ms, std::int64_t deadline_ms) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = decide_now(id, state, by, comment, now_ms, deadline_ms);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::vector<Delivery>>> GateStore::due(std::int64_t now_ms) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = due_now(now_ms);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<void>> GateStore::delivered(std::int64_t delivery_id, std::int64_t now_ms) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = delivered_now(delivery_id, now_ms);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<void>> GateStore::retry_at(std::int64_t delivery_id, std::int64_t next_ms, std::string error, bool alerted) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = retry_at_now(delivery_id, next_ms, error, alerted);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<void>> GateStore::give_up(std::int64_t delivery_id, std::string error) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = give_up_now(delivery_id, error);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

boost::asio::awaitable<Result<std::vector<std::string>>> GateStore::delivery_states(std::string gate_id) {
  const auto home = co_await boost::asio::this_coro::executor;
  co_await boost::asio::post(worker_, boost::asio::use_awaitable);
  auto result = delivery_states_now(gate_id);
  co_await boost::asio::post(home, boost::asio::use_awaitable);
  co_return result;
}

}  // namespace opsgate::gates
