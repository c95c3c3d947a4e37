#pragma once
// Extension point: where language-model usage is kept as data (tokens, cost,
// team), written at each call and summed back at start-up so a restart does
// not reset a team's daily budget. The SQLite one is store::SqliteLlmUsageLog.

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/error.hpp"

namespace opsgate {

struct LlmUsage {
  std::int64_t ts_ms = 0;  // unix milliseconds of the call
  std::string team;        // whose budget it counts against
  std::string action;      // what the call was understood as ("none", "error" when nothing)
  std::string connection;
  std::string provider;
  std::string model;
  std::int64_t tokens_in = -1;  // -1: the provider did not say
  std::int64_t tokens_out = -1;
  double cost_usd = 0.0;
  double latency_ms = 0.0;
  std::string error;  // empty when the call succeeded
};

struct TeamSpend {
  std::string team;
  double cost_usd = 0.0;
};

class LlmUsageLog {
 public:
  virtual ~LlmUsageLog() = default;
  // Queues the row and returns at once (a failure is logged by the log).
  virtual void record(LlmUsage usage) = 0;
  // Each team's total cost of the calls made at or after `since_ms`.
  virtual Result<std::vector<TeamSpend>> spent_since(std::int64_t since_ms) = 0;
};

}  // namespace opsgate
