#pragma once
// Language-model usage in the daemon's database (table llm_usage, one row
// per call, real columns): written through the store's writer, summed with
// SQL on a reader connection. Owned by the daemon; any thread.

#include <memory>

#include "src/core/llm_usage_log.hpp"

namespace opsgate::store {

class SqliteStore;

class SqliteLlmUsageLog final : public LlmUsageLog {
 public:
  explicit SqliteLlmUsageLog(std::shared_ptr<SqliteStore> store);
  void record(LlmUsage usage) override;
  Result<std::vector<TeamSpend>> spent_since(std::int64_t since_ms) override;

 private:
  std::shared_ptr<SqliteStore> store_;
};

}  // namespace opsgate::store
