#pragma once
// GateStore's operations on PostgreSQL, one function of the transaction
// each (the SQLite twins are in gate_store.cpp). Private to GateStore.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/gates/gate_store.hpp"

namespace opsgate::gates::on_pg {

Result<GateStore::Inserted> insert_tx(pqxx::transaction_base& tx, const Gate& g);
Result<Gate> get_tx(pqxx::transaction_base& tx, const std::string& id);
Result<std::optional<Gate>> by_approval_tx(pqxx::transaction_base& tx, const std::string& approval_id);
Result<std::optional<Gate>> by_key_tx(pqxx::transaction_base& tx, const std::string& client,
                                      const std::string& dedup_key);
Result<std::vector<Gate>> pending_tx(pqxx::transaction_base& tx);
Result<void> set_approval_tx(pqxx::transaction_base& tx, const std::string& id, const std::string& approval_id);
Result<void> set_thread_tx(pqxx::transaction_base& tx, const std::string& id, const std::string& platform,
                           const std::string& channel, const std::string& thread);
Result<std::optional<Gate>> decide_tx(pqxx::transaction_base& tx, const std::string& id, GateState state,
                                      const std::string& by, const std::string& comment, std::int64_t now_ms,
                                      std::int64_t deadline_ms);
// Claims what it returns: next_ms moves kClaimMs on, so another replica
// skips them until then (and takes them over if this one dies).
Result<std::vector<Delivery>> due_tx(pqxx::transaction_base& tx, std::int64_t now_ms);
Result<void> delivered_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, std::int64_t now_ms);
Result<void> retry_at_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, std::int64_t next_ms,
                         const std::string& error, bool alerted);
Result<void> give_up_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, const std::string& error);
Result<std::vector<std::string>> delivery_states_tx(pqxx::transaction_base& tx, const std::string& gate_id);

}  // namespace opsgate::gates::on_pg
