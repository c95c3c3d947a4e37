#include "src/gates/gate_store_pg.hpp"

#include <algorithm>

#include <pqxx/pqxx>

namespace opsgate::gates::on_pg {

using nlohmann::json;

// Library exceptions propagate: PgStore rolls the unit's savepoint back and
// reports them as its error.

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Gate read_gate(const pqxx::row& r) {
  Gate g;
  g.id = r["id"].as<std::string>();
  g.client = r["client"].as<std::string>();
  g.source = r["source"].as<std::string>();
  g.dedup_key = r["dedup_key"].as<std::string>();
  g.body_hash = r["body_hash"].as<std::string>();
  g.request = request_from_json(json::parse(r["request"].as<std::string>(), nullptr, false));
  g.state = parse_gate_state(r["state"].as<std::string>()).value_or(GateState::rejected);
  g.requester = r["requester"].as<std::string>();
  g.triggered_principal = r["triggered_principal"].as<std::string>();
  g.created_ms = r["created_ms"].as<std::int64_t>();
  g.expires_ms = r["expires_ms"].as<std::int64_t>();
  g.decided_ms = r["decided_ms"].as<std::int64_t>();
  g.decided_by = r["decided_by"].as<std::string>();
  g.comment = r["comment"].as<std::string>();
  g.rule_id = r["rule_id"].as<std::string>();
  const json approvers = json::parse(r["approvers"].as<std::string>(), nullptr, false);
  if (approvers.is_array()) {
    for (const auto& a : approvers) {
      if (a.is_string()) {
        g.approvers.push_back(a.get<std::string>());
      }
    }
  }
  g.quorum = r["quorum"].as<int>();
  g.approval_id = r["approval_id"].as<std::string>();
  g.platform = r["platform"].as<std::string>();
  g.channel = r["channel"].as<std::string>();
  g.thread = r["thread"].as<std::string>();
  g.callback_kind = r["callback_kind"].as<std::string>();
  g.callback = json::parse(r["callback"].as<std::string>(), nullptr, false);
  if (!g.callback.is_object()) {
    g.callback = json::object();
  }
  return g;
}

std::optional<Gate> first_gate(const pqxx::result& rows) {
  if (rows.empty()) {
    return std::nullopt;
  }
  return read_gate(rows[0]);
}

}  // namespace

Result<GateStore::Inserted> insert_tx(pqxx::transaction_base& tx, const Gate& g) {
  // ON CONFLICT: two replicas asked the same (client, dedup_key) at once;
  // the one that did not insert reads the winner's gate.
  const pqxx::result inserted = tx.exec_params(
      R"(INSERT INTO gates (id, client, source, dedup_key, body_hash, request, state, requester,
        triggered_principal, created_ms, expires_ms, decided_ms, decided_by, comment, rule_id, approvers, quorum,
        callback_kind, callback, platform, channel)
        VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21)
        ON CONFLICT (client, dedup_key) DO NOTHING RETURNING id)",
      g.id, g.client, g.source, g.dedup_key, g.body_hash, dump(request_json(g.request)), std::string(to_string(g.state)),
      g.requester, g.triggered_principal, g.created_ms, g.expires_ms, g.decided_ms, g.decided_by, g.comment, g.rule_id,
      dump(json(g.approvers)), g.quorum, g.callback_kind, dump(g.callback), g.platform, g.channel);
  if (!inserted.empty()) {
    return GateStore::Inserted{g, true};
  }
  auto existing = first_gate(tx.exec_params("SELECT * FROM gates WHERE client=$1 AND dedup_key=$2", g.client, g.dedup_key));
  if (!existing) {
    return fail(Errc::storage, "gate store: the key " + g.dedup_key + " conflicted but no gate holds it");
  }
  if (existing->body_hash != g.body_hash) {
    return fail(Errc::conflict, "the key " + g.dedup_key + " was used for gate " + existing->id +
                                    " with a different request; use a new key for a new request");
  }
  return GateStore::Inserted{*existing, false};
}

Result<Gate> get_tx(pqxx::transaction_base& tx, const std::string& id) {
  auto found = first_gate(tx.exec_params("SELECT * FROM gates WHERE id=$1", id));
  if (!found) {
    return fail(Errc::not_found, "there is no gate " + id);
  }
  return *found;
}

Result<std::optional<Gate>> by_approval_tx(pqxx::transaction_base& tx, const std::string& approval_id) {
  return first_gate(tx.exec_params("SELECT * FROM gates WHERE approval_id=$1 AND approval_id != ''", approval_id));
}

Result<std::optional<Gate>> by_key_tx(pqxx::transaction_base& tx, const std::string& client,
                                      const std::string& dedup_key) {
  return first_gate(tx.exec_params("SELECT * FROM gates WHERE client=$1 AND dedup_key=$2", client, dedup_key));
}

Result<std::vector<Gate>> pending_tx(pqxx::transaction_base& tx) {
  std::vector<Gate> out;
  for (const auto& row : tx.exec("SELECT * FROM gates WHERE state='pending' ORDER BY created_ms")) {
    out.push_back(read_gate(row));
  }
  return out;
}

Result<void> set_approval_tx(pqxx::transaction_base& tx, const std::string& id, const std::string& approval_id) {
  tx.exec_params0("UPDATE gates SET approval_id=$1 WHERE id=$2", approval_id, id);
  return {};
}

Result<void> set_thread_tx(pqxx::transaction_base& tx, const std::string& id, const std::string& platform,
                           const std::string& channel, const std::string& thread) {
  tx.exec_params0("UPDATE gates SET platform=$1, channel=$2, thread=$3 WHERE id=$4", platform, channel, thread, id);
  return {};
}

Result<std::optional<Gate>> decide_tx(pqxx::transaction_base& tx, const std::string& id, GateState state,
                                      const std::string& by, const std::string& comment, std::int64_t now_ms,
                                      std::int64_t deadline_ms) {
  // The row lock the UPDATE takes makes a concurrent decision on another
  // replica wait, then find the state no longer pending: decided once.
  const pqxx::result decided = tx.exec_params(
      "UPDATE gates SET state=$1, decided_by=$2, comment=$3, decided_ms=$4 WHERE id=$5 AND state='pending' "
      "RETURNING *",
      std::string(to_string(state)), by, comment, now_ms, id);
  auto gate = first_gate(decided);
  if (gate && !gate->callback_kind.empty()) {
    tx.exec_params0(
        "INSERT INTO gate_outbox (gate_id, state, first_ms, next_ms, deadline_ms) VALUES ($1, 'pending', $2, $3, $4)",
        id, now_ms, now_ms, deadline_ms);
  }
  return gate;
}

Result<std::vector<Delivery>> due_tx(pqxx::transaction_base& tx, std::int64_t now_ms) {
  std::vector<Delivery> out;
  const pqxx::result rows = tx.exec_params(
      "UPDATE gate_outbox SET next_ms = $2 WHERE id IN ("
      "  SELECT id FROM gate_outbox WHERE state='pending' AND next_ms <= $1 ORDER BY next_ms LIMIT 64 "
      "  FOR UPDATE SKIP LOCKED) "
      "RETURNING id, gate_id, attempts, first_ms, deadline_ms, alerted",
      now_ms, now_ms + kClaimMs);
  for (const auto& r : rows) {
    out.push_back(Delivery{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<int>(), r[3].as<std::int64_t>(),
                           r[4].as<std::int64_t>(), r[5].as<std::int64_t>() != 0});
  }
  std::sort(out.begin(), out.end(), [](const Delivery& a, const Delivery& b) { return a.id < b.id; });
  return out;
}

Result<void> delivered_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, std::int64_t now_ms) {
  tx.exec_params0("UPDATE gate_outbox SET state='done', attempts=attempts+1, done_ms=$1, last_error='' WHERE id=$2",
                  now_ms, delivery_id);
  return {};
}

Result<void> retry_at_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, std::int64_t next_ms,
                         const std::string& error, bool alerted) {
  tx.exec_params0("UPDATE gate_outbox SET attempts=attempts+1, next_ms=$1, last_error=$2, alerted=$3 WHERE id=$4",
                  next_ms, error, alerted ? 1 : 0, delivery_id);
  return {};
}

Result<void> give_up_tx(pqxx::transaction_base& tx, std::int64_t delivery_id, const std::string& error) {
  tx.exec_params0("UPDATE gate_outbox SET state='dead', attempts=attempts+1, last_error=$1 WHERE id=$2", error,
                  delivery_id);
  return {};
}

Result<std::vector<std::string>> delivery_states_tx(pqxx::transaction_base& tx, const std::string& gate_id) {
  std::vector<std::string> out;
  for (const auto& r : tx.exec_params("SELECT state FROM gate_outbox WHERE gate_id=$1 ORDER BY id", gate_id)) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

}  // namespace opsgate::gates::on_pg
