#pragma once
// What language-model calls cost and who may still make them: prices tokens
// from the config's table, counts tokens and cost per team, channel, user and
// action as metrics with the OpenTelemetry GenAI names, and keeps each team's
// daily budget (UTC days). Each call is also written as data to an
// LlmUsageLog (the daemon's database), summed back at start-up so a restart
// does not reset a budget. Shared by the cascade; thread-safe.

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/core/action_request.hpp"
#include "src/core/llm_usage_log.hpp"
#include "src/core/metrics.hpp"
#include "src/intent/llm_config.hpp"

namespace opsgate::intent {

// Metric names in one place, so they can follow the GenAI conventions
// (still in Development). OTel → Prometheus: dots become underscores and a
// unit suffix is added (gen_ai.client.operation.duration [s] →
// gen_ai_client_operation_duration_seconds).
inline constexpr const char* kTokenUsageMetric = "gen_ai_client_token_usage";                       // gen_ai.client.token.usage
inline constexpr const char* kOperationDurationMetric = "gen_ai_client_operation_duration_seconds";  // gen_ai.client.operation.duration
inline constexpr const char* kCostMetric = "opsgate_llm_cost_usd_total";
inline constexpr const char* kOverBudgetMetric = "opsgate_llm_over_budget_total";

struct BudgetCheck {
  bool allowed = true;
  std::string notice;  // set once per team and day when the budget is reached
};

class LlmAccounting {
 public:
  // `metrics` may be null (eval, parse); it must outlive this object.
  LlmAccounting(const LlmConfig& config, MetricsRegistry* metrics);

  // The team a principal's cost counts against: the first listed team naming
  // the principal or one of its groups, else "default".
  std::string team_of(const std::string& principal, const std::vector<std::string>& groups) const;
  double price(const std::string& model, std::int64_t tokens_in, std::int64_t tokens_out) const;

  BudgetCheck check(const std::string& team, std::chrono::system_clock::time_point now);
  // Counts one call: tokens and cost by team and the action understood. Not by
  // channel or user: label values a caller controls would grow /metrics without
  // bound (the audit log has both, per call).
  void record(const LlmCall& call, const std::string& team, const std::string& action,
              std::chrono::system_clock::time_point now);
  // Every call recorded from now on is also written to `log` (which must
  // outlive this object; null: memory only, as for `parse` and `eval`).
  void attach_usage_log(LlmUsageLog* log) { usage_log_ = log; }
  // Adds today's (UTC) spending kept in the usage log (start-up).
  Result<void> seed_from_usage_log(std::chrono::system_clock::time_point now);
  // Adds spending made at `when`, if that is today.
  void seed(const std::string& team, double cost_usd, std::chrono::system_clock::time_point when,
            std::chrono::system_clock::time_point now);
  double spent_today(const std::string& team, std::chrono::system_clock::time_point now) const;

 private:
  struct Day {
    std::int64_t day = -1;  // days since the epoch, UTC
    double spent = 0.0;
    bool notified = false;
  };
  std::optional<double> cap_of(const std::string& team) const;

  std::vector<LlmTeam> teams_;
  std::optional<double> default_daily_usd_;
  std::map<std::string, LlmPrice> prices_;
  MetricsRegistry* metrics_;
  LlmUsageLog* usage_log_ = nullptr;
  mutable std::mutex mutex_;
  std::map<std::string, Day> days_;
};

// Declares the LLM metrics (tokens, duration, cost, over budget) on `registry`.
void declare_llm_metrics(MetricsRegistry& registry);

}  // namespace opsgate::intent
