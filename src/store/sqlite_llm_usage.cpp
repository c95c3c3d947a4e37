#include "src/store/sqlite_llm_usage.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/VariadicBind.h>
#include <spdlog/spdlog.h>

#include "src/store/sqlite_store.hpp"

namespace opsgate::store {

SqliteLlmUsageLog::SqliteLlmUsageLog(std::shared_ptr<SqliteStore> store) : store_(std::move(store)) {}

void SqliteLlmUsageLog::record(LlmUsage usage) {
  WriteJob job;
  job.work = [usage = std::move(usage)](SQLite::Database& db) {
    SQLite::Statement insert(db,
                             "INSERT INTO llm_usage (ts_ms, team, action, connection, provider, model, tokens_in, "
                             "tokens_out, cost_usd, latency_ms, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    SQLite::bind(insert, usage.ts_ms, usage.team, usage.action, usage.connection, usage.provider, usage.model,
                 usage.tokens_in, usage.tokens_out, usage.cost_usd, usage.latency_ms, usage.error);
    // A negative count is unknown: NULL, never a number summed with the others.
    if (usage.tokens_in < 0) {
      insert.bind(7);
    }
    if (usage.tokens_out < 0) {
      insert.bind(8);
    }
    insert.exec();
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

Result<std::vector<TeamSpend>> SqliteLlmUsageLog::spent_since(std::int64_t since_ms) {
  return store_->read_now<std::vector<TeamSpend>>([since_ms](SQLite::Database& db) -> Result<std::vector<TeamSpend>> {
    std::vector<TeamSpend> out;
    SQLite::Statement q(db, "SELECT team, sum(cost_usd) FROM llm_usage WHERE ts_ms >= ? GROUP BY team ORDER BY team");
    q.bind(1, since_ms);
    while (q.executeStep()) {
      out.push_back(TeamSpend{q.getColumn(0).getString(), q.getColumn(1).getDouble()});
    }
    return out;
  });
}

}  // namespace opsgate::store
