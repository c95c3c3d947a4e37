#pragma once
// What a parser understood: an action with parameters, a question back to the
// user, or nothing. Parameters are a JSON object of strings and integers whose
// names are those of the action catalogue (target, env, range_s, ...).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate {

struct ActionRequest {
  ActionRequest() = default;
  ActionRequest(std::string action_name, nlohmann::json parameters = nlohmann::json::object(),
                std::string break_glass = {})
      : action(std::move(action_name)), params(std::move(parameters)), break_glass_reason(std::move(break_glass)) {}

  std::string action;  // canonical name, e.g. "metrics.query"
  nlohmann::json params = nlohmann::json::object();
  // Set when the user invoked break-glass (`break_glass="reason"`). The policy
  // decides whether the principal may; the text alone grants nothing.
  std::string break_glass_reason;

  // Canonical text of the request: used for hashing approvals, so an approval
  // for "scale cart 3" can never run "scale cart 30". nlohmann's object keys
  // are sorted, so dump() is canonical.
  std::string canonical() const;
};

enum class ParseKind { request, clarify, none };

// One call to a language model, for the audit log, metrics and eval.
// Token counts are -1 when the server did not report them (unknown, not zero).
struct LlmCall {
  std::string connection;      // config name of the connection
  std::string provider;        // "openai", "azure.ai.openai", "ollama", ... (OTel gen_ai.provider.name)
  std::string model;           // requested model (or Azure deployment)
  std::string response_model;  // what the server says it ran, when it says
  std::string prompt_version;  // "sha256:0123456789ab" of the prompt file
  std::int64_t tokens_in = -1;
  std::int64_t tokens_out = -1;
  double latency_ms = 0.0;
  double cost_usd = 0.0;       // from the price table; 0 when the model has no price
  std::string error;           // empty, or why the call gave nothing usable ("timeout", "http_429", ...)
};

struct ParseResult {
  ParseKind kind = ParseKind::none;
  ActionRequest request;              // when kind == request
  std::string question;               // when kind == clarify
  std::vector<std::string> options;   // likely answers for a clarify
  double confidence = 0.0;
  std::string parser;                 // "command", "nlu", "llm"
  std::optional<LlmCall> llm;         // set when a language model was asked
  std::string degraded;               // why the LLM was skipped or its answer unused ("timeout", "over_budget")
  std::string notice;                 // to tell the user once before the answer (budget reached)
  std::string team;                   // the team the LLM cost was counted against

  static ParseResult none(std::string parser_name);
  static ParseResult clarify(std::string parser_name, std::string question_text,
                             std::vector<std::string> choices = {});
};

nlohmann::json to_json(const ParseResult& result);
nlohmann::json to_json(const LlmCall& call);

// The `parsed` audit event's detail: "parser=llm confidence=0.90 llm.model=…
// llm.tokens_in=412 … team=shop" then " question=…" last (it may echo chat text).
std::string parse_audit_detail(const ParseResult& result);

}  // namespace opsgate
