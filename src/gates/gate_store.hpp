#pragma once
// Gates and their outbound callbacks (the outbox) in the daemon's database
// (tables owned by src/store/schema.cpp). Every change runs on the store's
// one writer thread inside a transaction (reads on its reader connections); the state moves out of
// `pending` once (UPDATE ... WHERE state='pending'), and the callback row is
// written in that same transaction, so a decision is never lost between the
// two. Owned by the daemon; any strand.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"
#include "src/gates/gate.hpp"

namespace SQLite {
class Database;
}
namespace pqxx {
class transaction_base;
}
namespace opsgate::store {
class PgStore;
class SqliteStore;
}

namespace opsgate::gates {

// One pending outbound callback.
struct Delivery {
  std::int64_t id = 0;
  std::string gate_id;
  int attempts = 0;
  std::int64_t first_ms = 0;     // when the decision was made
  std::int64_t deadline_ms = 0;  // give up after this (the platform context is dead)
  bool alerted = false;          // the thread was told it is failing
};

class GateStore {
 public:
  // With a store of its own (tests, tools).
  static Result<std::unique_ptr<GateStore>> open(const std::string& path);
  // On the daemon's one store.
  static Result<std::unique_ptr<GateStore>> open(std::shared_ptr<store::SqliteStore> store);
  // On PostgreSQL, shared by the replicas: due() there claims the callbacks
  // it returns (FOR UPDATE SKIP LOCKED, pushed kClaimMs into the future),
  // so two replicas never deliver the same one at once.
  static Result<std::unique_ptr<GateStore>> open(std::shared_ptr<store::PgStore> store);
  ~GateStore();

  struct Inserted {
    Gate gate;
    bool created = false;  // false: the same (client, dedup_key) asked before
  };
  // A second ask with the same (client, dedup_key) returns the first gate;
  // Errc::conflict when its body_hash differs.
  Result<Inserted> insert_now(const Gate& gate);
  Result<Gate> get_now(const std::string& id);
  Result<std::optional<Gate>> by_approval_now(const std::string& approval_id);
  Result<std::optional<Gate>> by_key_now(const std::string& client, const std::string& dedup_key);
  Result<std::vector<Gate>> pending_now();
  Result<void> set_approval_now(const std::string& id, const std::string& approval_id);
  Result<void> set_thread_now(const std::string& id, const std::string& platform, const std::string& channel,
                          const std::string& thread);
  // pending -> state, and the callback row when the gate has one, in one
  // transaction. nullopt: it was already terminal (nothing changed).
  Result<std::optional<Gate>> decide_now(const std::string& id, GateState state, const std::string& by,
                                     const std::string& comment, std::int64_t now_ms, std::int64_t deadline_ms);

  // Pending callbacks whose time has come (at most 64).
  Result<std::vector<Delivery>> due_now(std::int64_t now_ms);
  Result<void> delivered_now(std::int64_t delivery_id, std::int64_t now_ms);
  Result<void> retry_at_now(std::int64_t delivery_id, std::int64_t next_ms, const std::string& error, bool alerted);
  Result<void> give_up_now(std::int64_t delivery_id, const std::string& error);
  // "pending", "done" or "dead" for each delivery of a gate, oldest first (tests, `gate` output).
  Result<std::vector<std::string>> delivery_states_now(const std::string& gate_id);

  // The same, resuming on the caller's executor.
  boost::asio::awaitable<Result<Inserted>> insert(Gate gate);
  boost::asio::awaitable<Result<Gate>> get(std::string id);
  boost::asio::awaitable<Result<std::optional<Gate>>> by_approval(std::string approval_id);
  boost::asio::awaitable<Result<std::optional<Gate>>> by_key(std::string client, std::string dedup_key);
  boost::asio::awaitable<Result<std::vector<Gate>>> pending();
  boost::asio::awaitable<Result<void>> set_approval(std::string id, std::string approval_id);
  boost::asio::awaitable<Result<void>> set_thread(std::string id, std::string platform, std::string channel, std::string thread);
  boost::asio::awaitable<Result<std::optional<Gate>>> decide(std::string id, GateState state, std::string by, std::string comment, std::int64_t now_ms, std::int64_t deadline_ms);
  boost::asio::awaitable<Result<std::vector<Delivery>>> due(std::int64_t now_ms);
  boost::asio::awaitable<Result<void>> delivered(std::int64_t delivery_id, std::int64_t now_ms);
  boost::asio::awaitable<Result<void>> retry_at(std::int64_t delivery_id, std::int64_t next_ms, std::string error, bool alerted);
  boost::asio::awaitable<Result<void>> give_up(std::int64_t delivery_id, std::string error);
  boost::asio::awaitable<Result<std::vector<std::string>>> delivery_states(std::string gate_id);

 private:
  explicit GateStore(std::shared_ptr<store::SqliteStore> store);
  explicit GateStore(std::shared_ptr<store::PgStore> store);

  // Each operation is written once per backend; these run the one that applies.
  template <class T>
  using SqliteWork = std::function<Result<T>(SQLite::Database&)>;
  template <class T>
  using PgWork = std::function<Result<T>(pqxx::transaction_base&)>;
  template <class T>
  Result<T> on_writer_now(SqliteWork<T> sqlite, PgWork<T> pg);
  template <class T>
  Result<T> on_reader_now(SqliteWork<T> sqlite, PgWork<T> pg);
  template <class T>
  boost::asio::awaitable<Result<T>> on_writer(SqliteWork<T> sqlite, PgWork<T> pg);
  template <class T>
  boost::asio::awaitable<Result<T>> on_reader(SqliteWork<T> sqlite, PgWork<T> pg);

  std::shared_ptr<store::SqliteStore> store_;  // one of the two is set
  std::shared_ptr<store::PgStore> pg_;
};

// How long a replica has to deliver the callbacks it claimed before another
// may take them over (PostgreSQL).
inline constexpr std::int64_t kClaimMs = 60000;

}  // namespace opsgate::gates
