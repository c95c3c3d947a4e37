#pragma once
// Language-model usage on PostgreSQL (table llm_usage, as on SQLite): written
// through the store's writer, summed on a reader connection — so a budget
// counts the spending of every replica. Owned by the daemon; any thread.

#include <memory>

#include "src/core/llm_usage_log.hpp"

namespace opsgate::store {

class PgStore;

class PgLlmUsageLog final : public LlmUsageLog {
 public:
  explicit PgLlmUsageLog(std::shared_ptr<PgStore> store);
  void record(LlmUsage usage) override;
  Result<std::vector<TeamSpend>> spent_since(std::int64_t since_ms) override;

 private:
  std::shared_ptr<PgStore> store_;
};

}  // namespace opsgate::store
