#include "src/intent/llm_accounting.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "src/core/clock.hpp"

namespace opsgate::intent {

namespace {

std::int64_t day_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count() / 24;
}

}  // namespace

void declare_llm_metrics(MetricsRegistry& registry) {
  // OTel's advised buckets for gen_ai.client.token.usage and .operation.duration.
  registry.declare_histogram(kTokenUsageMetric,
                             "Tokens per language-model call (OTel gen_ai.client.token.usage; "
                             "gen_ai_token_type=input|output)",
                             {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
                              67108864});
  registry.declare_histogram(kOperationDurationMetric,
                             "Duration of language-model calls in seconds (OTel gen_ai.client.operation.duration)",
                             {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92});
  registry.declare_counter(kCostMetric, "Cost of language-model calls in USD, from the configured price table");
  registry.declare_counter(kOverBudgetMetric, "Messages parsed without the language model because the team's daily budget was spent");
}

LlmAccounting::LlmAccounting(const LlmConfig& config, MetricsRegistry* metrics)
    : teams_(config.teams), default_daily_usd_(config.default_daily_usd), prices_(config.prices), metrics_(metrics) {
  if (metrics_ != nullptr) {
    declare_llm_metrics(*metrics_);
  }
}

std::string LlmAccounting::team_of(const std::string& principal, const std::vector<std::string>& groups) const {
  for (const auto& team : teams_) {
    for (const auto& member : team.members) {
      if (member == principal || std::find(groups.begin(), groups.end(), member) != groups.end()) {
        return team.name;
      }
    }
  }
  return "default";
}

double LlmAccounting::price(const std::string& model, std::int64_t tokens_in, std::int64_t tokens_out) const {
  const auto it = prices_.find(model);
  if (it == prices_.end()) {
    return 0.0;
  }
  return static_cast<double>(std::max<std::int64_t>(tokens_in, 0)) * it->second.input_per_million / 1e6 +
         static_cast<double>(std::max<std::int64_t>(tokens_out, 0)) * it->second.output_per_million / 1e6;
}

std::optional<double> LlmAccounting::cap_of(const std::string& team) const {
  for (const auto& t : teams_) {
    if (t.name == team) {
      return t.daily_usd;
    }
  }
  return default_daily_usd_;
}

BudgetCheck LlmAccounting::check(const std::string& team, std::chrono::system_clock::time_point now) {
  const auto cap = cap_of(team);
  if (!cap) {
    return {};
  }
  std::lock_guard lock(mutex_);
  Day& d = days_[team];
  if (d.day != day_of(now)) {
    d = Day{day_of(now), 0.0, false};
  }
  if (d.spent < *cap) {
    return {};
  }
  BudgetCheck result{false, {}};
  if (!d.notified) {
    d.notified = true;
    char text[256];
    std::snprintf(text, sizeof text,
                  "ℹ️ Team %s has used its language-model budget for today (%.2f of %.2f USD). Until midnight UTC "
                  "I understand commands and plain requests with the built-in parser only.",
                  team.c_str(), d.spent, *cap);
    result.notice = text;
  }
  if (metrics_ != nullptr) {
    metrics_->add(kOverBudgetMetric, {{"team", team}});
  }
  return result;
}

void LlmAccounting::record(const LlmCall& call, const std::string& team, const std::string& action,
                           std::chrono::system_clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    Day& d = days_[team];
    if (d.day != day_of(now)) {
      d = Day{day_of(now), 0.0, false};
    }
    d.spent += call.cost_usd;
  }
  if (usage_log_ != nullptr) {
    usage_log_->record(LlmUsage{to_unix_ms(now), team, action, call.connection, call.provider, call.model,
                                call.tokens_in, call.tokens_out, call.cost_usd, call.latency_ms, call.error});
  }
  if (metrics_ == nullptr) {
    return;
  }
  const MetricLabels base{{"gen_ai_operation_name", "chat"}, {"gen_ai_provider_name", call.provider},
                          {"gen_ai_request_model", call.model}};
  for (const auto& [type, tokens] : {std::pair<const char*, std::int64_t>{"input", call.tokens_in},
                                     std::pair<const char*, std::int64_t>{"output", call.tokens_out}}) {
    if (tokens < 0) {
      continue;  // unknown, not zero
    }
    MetricLabels labels = base;
    labels.insert(labels.end(), {{"gen_ai_token_type", type}, {"team", team}, {"action", action}});
    metrics_->observe(kTokenUsageMetric, labels, static_cast<double>(tokens));
  }
  MetricLabels duration = base;
  duration.emplace_back("error_type", call.error);
  metrics_->observe(kOperationDurationMetric, duration, call.latency_ms / 1000.0);
  metrics_->add(kCostMetric,
                {{"gen_ai_request_model", call.model}, {"team", team}, {"action", action}},
                call.cost_usd);
}

void LlmAccounting::seed(const std::string& team, double cost_usd, std::chrono::system_clock::time_point when,
                         std::chrono::system_clock::time_point now) {
  if (day_of(when) != day_of(now)) {
    return;
  }
  std::lock_guard lock(mutex_);
  Day& d = days_[team];
  if (d.day != day_of(now)) {
    d = Day{day_of(now), 0.0, false};
  }
  d.spent += cost_usd;
}

Result<void> LlmAccounting::seed_from_usage_log(std::chrono::system_clock::time_point now) {
  if (usage_log_ == nullptr) {
    return {};
  }
  const std::int64_t now_ms = to_unix_ms(now);
  const std::int64_t midnight_ms = now_ms - now_ms % (24LL * 3600 * 1000);
  auto spent = usage_log_->spent_since(midnight_ms);
  if (!spent) {
    return tl::unexpected(spent.error());
  }
  for (const auto& row : *spent) {
    seed(row.team, row.cost_usd, now, now);
  }
  return {};
}

double LlmAccounting::spent_today(const std::string& team, std::chrono::system_clock::time_point now) const {
  std::lock_guard lock(mutex_);
  const auto it = days_.find(team);
  return it == days_.end() || it->second.day != day_of(now) ? 0.0 : it->second.spent;
}

}  // namespace opsgate::intent
