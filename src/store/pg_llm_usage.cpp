#include "src/store/pg_llm_usage.hpp"

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "src/store/pg_store.hpp"

namespace opsgate::store {

PgLlmUsageLog::PgLlmUsageLog(std::shared_ptr<PgStore> store) : store_(std::move(store)) {}

void PgLlmUsageLog::record(LlmUsage usage) {
  PgWriteJob job;
  job.work = [usage = std::move(usage)](pqxx::transaction_base& tx) {
    // -1: the provider did not say (NULL, as on SQLite).
    tx.exec_params0(
        "INSERT INTO llm_usage (ts_ms, team, action, connection, provider, model, tokens_in, tokens_out, cost_usd, "
        "latency_ms, error) VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, -1), NULLIF($8::bigint, -1), $9, $10, "
        "$11)",
        usage.ts_ms, usage.team, usage.action, usage.connection, usage.provider, usage.model, usage.tokens_in,
        usage.tokens_out, usage.cost_usd, usage.latency_ms, usage.error);
    return true;
  };
  job.done = [](bool committed, const Error* error) {
    if (error != nullptr || !committed) {
      spdlog::error("language-model usage not recorded (a restart would not count it against the budget): {}",
                    error != nullptr ? error->message : std::string("not committed"));
    }
  };
  store_->submit(std::move(job));
}

Result<std::vector<TeamSpend>> PgLlmUsageLog::spent_since(std::int64_t since_ms) {
  return store_->read_now<std::vector<TeamSpend>>([since_ms](pqxx::transaction_base& tx) -> Result<std::vector<TeamSpend>> {
    std::vector<TeamSpend> out;
    const pqxx::result rows = tx.exec_params(
        "SELECT team, sum(cost_usd) FROM llm_usage WHERE ts_ms >= $1 GROUP BY team ORDER BY team", since_ms);
    for (const auto& row : rows) {
      out.push_back(TeamSpend{row[0].as<std::string>(), row[1].as<double>()});
    }
    return out;
  });
}

}  // namespace opsgate::store
