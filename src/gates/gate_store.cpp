#include "src/gates/gate_store.hpp"

#include <functional>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>

#include "src/gates/gate_store_pg.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::gates {

using nlohmann::json;

namespace {

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

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Result<std::unique_ptr<GateStore>> GateStore::open(const std::string& path) {
  auto store = store::SqliteStore::open(path);
  if (!store) {
    return fail(Errc::storage, "cannot open the gate store at " + path + ": " + store.error().message);
  }
  return open(std::move(*store));
}

Result<std::unique_ptr<GateStore>> GateStore::open(std::shared_ptr<store::SqliteStore> store) {
  return std::unique_ptr<GateStore>(new GateStore(std::move(store)));
}

Result<std::unique_ptr<GateStore>> GateStore::open(std::shared_ptr<store::PgStore> store) {
  return std::unique_ptr<GateStore>(new GateStore(std::move(store)));
}

GateStore::GateStore(std::shared_ptr<store::SqliteStore> store) : store_(std::move(store)) {}

GateStore::GateStore(std::shared_ptr<store::PgStore> store) : pg_(std::move(store)) {}

GateStore::~GateStore() = default;

namespace {

// Each operation: one function of the connection, run by the store's writer
// inside its transaction (reads: a reader connection). A failed Result undoes
// the operation's own changes.

Result<GateStore::Inserted> insert_tx(SQLite::Database& db, const Gate& g) {
  try {
    if (auto existing = load(db, "client=? AND dedup_key=?", {g.client, g.dedup_key})) {
      if (existing->body_hash != g.body_hash) {
        return fail(Errc::conflict, "the key " + g.dedup_key + " was used for gate " + existing->id +
                                        " with a different request; use a new key for a new request");
      }
      return GateStore::Inserted{*existing, false};
    }
    SQLite::Statement q(db, R"(INSERT INTO gates (id, client, source, dedup_key, body_hash, request, state, requester,
        triggered_principal, created_ms, expires_ms, decided_ms, decided_by, comment, rule_id, approvers, quorum,
        callback_kind, callback, platform, channel) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?))");
    SQLite::bind(q, g.id, g.client, g.source, g.dedup_key, g.body_hash, dump(request_json(g.request)),
                 std::string(to_string(g.state)), g.requester, g.triggered_principal, g.created_ms, g.expires_ms,
                 g.decided_ms, g.decided_by, g.comment, g.rule_id, dump(json(g.approvers)), g.quorum, g.callback_kind,
                 dump(g.callback), g.platform, g.channel);
    q.exec();
    return GateStore::Inserted{g, true};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<Gate> get_tx(SQLite::Database& db, const std::string& id) {
  try {
    auto found = load(db, "id=?", {id});
    if (!found) {
      return fail(Errc::not_found, "there is no gate " + id);
    }
    return *found;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> by_approval_tx(SQLite::Database& db, const std::string& approval_id) {
  try {
    return load(db, "approval_id=? AND approval_id != ''", {approval_id});
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> by_key_tx(SQLite::Database& db, const std::string& client, const std::string& dedup_key) {
  try {
    return load(db, "client=? AND dedup_key=?", {client, dedup_key});
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Gate>> pending_tx(SQLite::Database& db) {
  try {
    std::vector<Gate> out;
    SQLite::Statement q(db, "SELECT * FROM gates WHERE state='pending' ORDER BY created_ms");
    while (q.executeStep()) {
      out.push_back(read_gate(q));
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> set_approval_tx(SQLite::Database& db, const std::string& id, const std::string& approval_id) {
  try {
    SQLite::Statement q(db, "UPDATE gates SET approval_id=? WHERE id=?");
    q.bind(1, approval_id);
    q.bind(2, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> set_thread_tx(SQLite::Database& db, const std::string& id, const std::string& platform,
                           const std::string& channel, const std::string& thread) {
  try {
    SQLite::Statement q(db, "UPDATE gates SET platform=?, channel=?, thread=? WHERE id=?");
    SQLite::bind(q, platform, channel, thread, id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::optional<Gate>> decide_tx(SQLite::Database& db, const std::string& id, GateState state,
                                      const std::string& by, const std::string& comment, std::int64_t now_ms,
                                      std::int64_t deadline_ms) {
  try {
    SQLite::Statement q(
        db, "UPDATE gates SET state=?, decided_by=?, comment=?, decided_ms=? WHERE id=? AND state='pending'");
    SQLite::bind(q, std::string(to_string(state)), by, comment, now_ms, id);
    if (q.exec() != 1) {
      return std::optional<Gate>{};
    }
    auto gate = load(db, "id=?", {id});
    if (gate && !gate->callback_kind.empty()) {
      SQLite::Statement out(db,
                            "INSERT INTO gate_outbox (gate_id, state, first_ms, next_ms, deadline_ms) "
                            "VALUES (?, 'pending', ?, ?, ?)");
      SQLite::bind(out, id, now_ms, now_ms, deadline_ms);
      out.exec();
    }
    return gate;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<Delivery>> due_tx(SQLite::Database& db, std::int64_t now_ms) {
  try {
    std::vector<Delivery> out;
    SQLite::Statement q(db,
                        "SELECT id, gate_id, attempts, first_ms, deadline_ms, alerted FROM gate_outbox "
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

Result<void> delivered_tx(SQLite::Database& db, std::int64_t delivery_id, std::int64_t now_ms) {
  try {
    SQLite::Statement q(
        db, "UPDATE gate_outbox SET state='done', attempts=attempts+1, done_ms=?, last_error='' WHERE id=?");
    q.bind(1, now_ms);
    q.bind(2, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> retry_at_tx(SQLite::Database& db, std::int64_t delivery_id, std::int64_t next_ms, const std::string& error,
                         bool alerted) {
  try {
    SQLite::Statement q(db,
                        "UPDATE gate_outbox SET attempts=attempts+1, next_ms=?, last_error=?, alerted=? WHERE id=?");
    SQLite::bind(q, next_ms, error, alerted ? 1 : 0, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<void> give_up_tx(SQLite::Database& db, std::int64_t delivery_id, const std::string& error) {
  try {
    SQLite::Statement q(db, "UPDATE gate_outbox SET state='dead', attempts=attempts+1, last_error=? WHERE id=?");
    q.bind(1, error);
    q.bind(2, delivery_id);
    q.exec();
    return {};
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}

Result<std::vector<std::string>> delivery_states_tx(SQLite::Database& db, const std::string& gate_id) {
  try {
    std::vector<std::string> out;
    SQLite::Statement q(db, "SELECT state FROM gate_outbox WHERE gate_id=? ORDER BY id");
    q.bind(1, gate_id);
    while (q.executeStep()) {
      out.push_back(q.getColumn(0).getString());
    }
    return out;
  } catch (const std::exception& e) {
    return storage_error(e);
  }
}
}  // namespace

// ---- dispatch: one backend per store ----

template <class T>
Result<T> GateStore::on_writer_now(SqliteWork<T> sqlite, PgWork<T> pg) {
  if (pg_) {
    return pg_->write_now<T>(std::move(pg));
  }
  return store_->write_now<T>(std::move(sqlite));
}

template <class T>
Result<T> GateStore::on_reader_now(SqliteWork<T> sqlite, PgWork<T> pg) {
  if (pg_) {
    return pg_->read_now<T>(std::move(pg));
  }
  return store_->read_now<T>(std::move(sqlite));
}

template <class T>
boost::asio::awaitable<Result<T>> GateStore::on_writer(SqliteWork<T> sqlite, PgWork<T> pg) {
  if (pg_) {
    Result<T> result = co_await pg_->write<T>(std::move(pg));
    co_return result;
  }
  Result<T> result = co_await store_->write<T>(std::move(sqlite));
  co_return result;
}

template <class T>
boost::asio::awaitable<Result<T>> GateStore::on_reader(SqliteWork<T> sqlite, PgWork<T> pg) {
  if (pg_) {
    Result<T> result = co_await pg_->read<T>(std::move(pg));
    co_return result;
  }
  Result<T> result = co_await store_->read<T>(std::move(sqlite));
  co_return result;
}

Result<GateStore::Inserted> GateStore::insert_now(const Gate& g) {
  return on_writer_now<GateStore::Inserted>([&](SQLite::Database& db) { return insert_tx(db, g); },
                          [&](pqxx::transaction_base& tx) { return on_pg::insert_tx(tx, g); });
}

boost::asio::awaitable<Result<GateStore::Inserted>> GateStore::insert(Gate g) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<GateStore::Inserted> sqlite = [g](SQLite::Database& db) { return insert_tx(db, g); };
  PgWork<GateStore::Inserted> pg = [g](pqxx::transaction_base& tx) { return on_pg::insert_tx(tx, g); };
  Result<GateStore::Inserted> result = co_await on_writer<GateStore::Inserted>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<Gate> GateStore::get_now(const std::string& id) {
  return on_reader_now<Gate>([&](SQLite::Database& db) { return get_tx(db, id); },
                          [&](pqxx::transaction_base& tx) { return on_pg::get_tx(tx, id); });
}

boost::asio::awaitable<Result<Gate>> GateStore::get(std::string id) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<Gate> sqlite = [id](SQLite::Database& db) { return get_tx(db, id); };
  PgWork<Gate> pg = [id](pqxx::transaction_base& tx) { return on_pg::get_tx(tx, id); };
  Result<Gate> result = co_await on_reader<Gate>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::optional<Gate>> GateStore::by_approval_now(const std::string& approval_id) {
  return on_reader_now<std::optional<Gate>>([&](SQLite::Database& db) { return by_approval_tx(db, approval_id); },
                          [&](pqxx::transaction_base& tx) { return on_pg::by_approval_tx(tx, approval_id); });
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::by_approval(std::string approval_id) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<std::optional<Gate>> sqlite = [approval_id](SQLite::Database& db) { return by_approval_tx(db, approval_id); };
  PgWork<std::optional<Gate>> pg = [approval_id](pqxx::transaction_base& tx) { return on_pg::by_approval_tx(tx, approval_id); };
  Result<std::optional<Gate>> result = co_await on_reader<std::optional<Gate>>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::optional<Gate>> GateStore::by_key_now(const std::string& client, const std::string& dedup_key) {
  return on_reader_now<std::optional<Gate>>([&](SQLite::Database& db) { return by_key_tx(db, client, dedup_key); },
                          [&](pqxx::transaction_base& tx) { return on_pg::by_key_tx(tx, client, dedup_key); });
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::by_key(std::string client, std::string dedup_key) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<std::optional<Gate>> sqlite = [client, dedup_key](SQLite::Database& db) { return by_key_tx(db, client, dedup_key); };
  PgWork<std::optional<Gate>> pg = [client, dedup_key](pqxx::transaction_base& tx) { return on_pg::by_key_tx(tx, client, dedup_key); };
  Result<std::optional<Gate>> result = co_await on_reader<std::optional<Gate>>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::vector<Gate>> GateStore::pending_now() {
  return on_reader_now<std::vector<Gate>>([&](SQLite::Database& db) { return pending_tx(db); },
                          [&](pqxx::transaction_base& tx) { return on_pg::pending_tx(tx); });
}

boost::asio::awaitable<Result<std::vector<Gate>>> GateStore::pending() {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<std::vector<Gate>> sqlite = [](SQLite::Database& db) { return pending_tx(db); };
  PgWork<std::vector<Gate>> pg = [](pqxx::transaction_base& tx) { return on_pg::pending_tx(tx); };
  Result<std::vector<Gate>> result = co_await on_reader<std::vector<Gate>>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<void> GateStore::set_approval_now(const std::string& id, const std::string& approval_id) {
  return on_writer_now<void>([&](SQLite::Database& db) { return set_approval_tx(db, id, approval_id); },
                          [&](pqxx::transaction_base& tx) { return on_pg::set_approval_tx(tx, id, approval_id); });
}

boost::asio::awaitable<Result<void>> GateStore::set_approval(std::string id, std::string approval_id) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<void> sqlite = [id, approval_id](SQLite::Database& db) { return set_approval_tx(db, id, approval_id); };
  PgWork<void> pg = [id, approval_id](pqxx::transaction_base& tx) { return on_pg::set_approval_tx(tx, id, approval_id); };
  Result<void> result = co_await on_writer<void>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<void> GateStore::set_thread_now(const std::string& id, const std::string& platform, const std::string& channel, const std::string& thread) {
  return on_writer_now<void>([&](SQLite::Database& db) { return set_thread_tx(db, id, platform, channel, thread); },
                          [&](pqxx::transaction_base& tx) { return on_pg::set_thread_tx(tx, id, platform, channel, thread); });
}

boost::asio::awaitable<Result<void>> GateStore::set_thread(std::string id, std::string platform, std::string channel, std::string thread) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<void> sqlite = [id, platform, channel, thread](SQLite::Database& db) { return set_thread_tx(db, id, platform, channel, thread); };
  PgWork<void> pg = [id, platform, channel, thread](pqxx::transaction_base& tx) { return on_pg::set_thread_tx(tx, id, platform, channel, thread); };
  Result<void> result = co_await on_writer<void>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::optional<Gate>> GateStore::decide_now(const std::string& id, GateState state, const std::string& by, const std::string& comment, std::int64_t now_ms, std::int64_t deadline_ms) {
  return on_writer_now<std::optional<Gate>>([&](SQLite::Database& db) { return decide_tx(db, id, state, by, comment, now_ms, deadline_ms); },
                          [&](pqxx::transaction_base& tx) { return on_pg::decide_tx(tx, id, state, by, comment, now_ms, deadline_ms); });
}

boost::asio::awaitable<Result<std::optional<Gate>>> GateStore::decide(std::string id, GateState state, std::string by, std::string comment, std::int64_t now_ms, std::int64_t deadline_ms) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<std::optional<Gate>> sqlite = [id, state, by, comment, now_ms, deadline_ms](SQLite::Database& db) { return decide_tx(db, id, state, by, comment, now_ms, deadline_ms); };
  PgWork<std::optional<Gate>> pg = [id, state, by, comment, now_ms, deadline_ms](pqxx::transaction_base& tx) { return on_pg::decide_tx(tx, id, state, by, comment, now_ms, deadline_ms); };
  Result<std::optional<Gate>> result = co_await on_writer<std::optional<Gate>>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::vector<Delivery>> GateStore::due_now(std::int64_t now_ms) {
  if (pg_) {
    return pg_->write_now<std::vector<Delivery>>([&](pqxx::transaction_base& tx) { return on_pg::due_tx(tx, now_ms); });
  }
  return store_->read_now<std::vector<Delivery>>([&](SQLite::Database& db) { return due_tx(db, now_ms); });
}

boost::asio::awaitable<Result<std::vector<Delivery>>> GateStore::due(std::int64_t now_ms) {
  if (pg_) {
    std::function<Result<std::vector<Delivery>>(pqxx::transaction_base&)> claim = [now_ms](pqxx::transaction_base& tx) {
      return on_pg::due_tx(tx, now_ms);
    };
    Result<std::vector<Delivery>> claimed = co_await pg_->write<std::vector<Delivery>>(std::move(claim));
    co_return claimed;
  }
  std::function<Result<std::vector<Delivery>>(SQLite::Database&)> work = [now_ms](SQLite::Database& db) { return due_tx(db, now_ms); };
  Result<std::vector<Delivery>> result = co_await store_->read<std::vector<Delivery>>(std::move(work));
  co_return result;
}

Result<void> GateStore::delivered_now(std::int64_t delivery_id, std::int64_t now_ms) {
  return on_writer_now<void>([&](SQLite::Database& db) { return delivered_tx(db, delivery_id, now_ms); },
                          [&](pqxx::transaction_base& tx) { return on_pg::delivered_tx(tx, delivery_id, now_ms); });
}

boost::asio::awaitable<Result<void>> GateStore::delivered(std::int64_t delivery_id, std::int64_t now_ms) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<void> sqlite = [delivery_id, now_ms](SQLite::Database& db) { return delivered_tx(db, delivery_id, now_ms); };
  PgWork<void> pg = [delivery_id, now_ms](pqxx::transaction_base& tx) { return on_pg::delivered_tx(tx, delivery_id, now_ms); };
  Result<void> result = co_await on_writer<void>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<void> GateStore::retry_at_now(std::int64_t delivery_id, std::int64_t next_ms, const std::string& error, bool alerted) {
  return on_writer_now<void>([&](SQLite::Database& db) { return retry_at_tx(db, delivery_id, next_ms, error, alerted); },
                          [&](pqxx::transaction_base& tx) { return on_pg::retry_at_tx(tx, delivery_id, next_ms, error, alerted); });
}

boost::asio::awaitable<Result<void>> GateStore::retry_at(std::int64_t delivery_id, std::int64_t next_ms, std::string error, bool alerted) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<void> sqlite = [delivery_id, next_ms, error, alerted](SQLite::Database& db) { return retry_at_tx(db, delivery_id, next_ms, error, alerted); };
  PgWork<void> pg = [delivery_id, next_ms, error, alerted](pqxx::transaction_base& tx) { return on_pg::retry_at_tx(tx, delivery_id, next_ms, error, alerted); };
  Result<void> result = co_await on_writer<void>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<void> GateStore::give_up_now(std::int64_t delivery_id, const std::string& error) {
  return on_writer_now<void>([&](SQLite::Database& db) { return give_up_tx(db, delivery_id, error); },
                          [&](pqxx::transaction_base& tx) { return on_pg::give_up_tx(tx, delivery_id, error); });
}

boost::asio::awaitable<Result<void>> GateStore::give_up(std::int64_t delivery_id, std::string error) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<void> sqlite = [delivery_id, error](SQLite::Database& db) { return give_up_tx(db, delivery_id, error); };
  PgWork<void> pg = [delivery_id, error](pqxx::transaction_base& tx) { return on_pg::give_up_tx(tx, delivery_id, error); };
  Result<void> result = co_await on_writer<void>(std::move(sqlite), std::move(pg));
  co_return result;
}

Result<std::vector<std::string>> GateStore::delivery_states_now(const std::string& gate_id) {
  return on_reader_now<std::vector<std::string>>([&](SQLite::Database& db) { return delivery_states_tx(db, gate_id); },
                          [&](pqxx::transaction_base& tx) { return on_pg::delivery_states_tx(tx, gate_id); });
}

boost::asio::awaitable<Result<std::vector<std::string>>> GateStore::delivery_states(std::string gate_id) {
  // Named functions, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  SqliteWork<std::vector<std::string>> sqlite = [gate_id](SQLite::Database& db) { return delivery_states_tx(db, gate_id); };
  PgWork<std::vector<std::string>> pg = [gate_id](pqxx::transaction_base& tx) { return on_pg::delivery_states_tx(tx, gate_id); };
  Result<std::vector<std::string>> result = co_await on_reader<std::vector<std::string>>(std::move(sqlite), std::move(pg));
  co_return result;
}

}  // namespace opsgate::gates
