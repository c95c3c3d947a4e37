#include "src/store/sqlite_llm_usage.hpp"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
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
    insert.bind(1, usage.ts_ms);
    insert.bind(2, usage.team);
    insert.bind(3, usage.action);
    insert.bind(4, usage.connection);
    insert.bind(5, usage.provider);
    insert.bind(6, usage.model);
    if (usage.tokens_in >= 0) {
      insert.bind(7, usage.tokens_in);
    }
    if (usage.tokens_out >= 0) {
      insert.bind(8, usage.tokens_out);
    }
    insert.bind(9, usage.cost_usd);
    insert.bind(10, usage.latency_ms);
    insert.bind(11, usage.error);
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
