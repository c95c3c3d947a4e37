#pragma once
// The language-model parser, last in the cascade: asks an OpenAI-compatible
// chat-completions endpoint to pick one tool (one per action, enums filled
// from the inventory, strict schemas, plus `clarify` and `none`), then checks
// the answer exactly like any other parser's output. Chat text goes in as
// data (a JSON value in the user message), never as instructions; whatever
// comes back that is not one valid call becomes a question, never an action.
// Immutable after construction; parse_async from any strand.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"
#include "src/intent/llm_config.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::intent {

// The confidence given to a validated tool call: above the default threshold,
// below the command parser's.
inline constexpr double kLlmConfidence = 0.8;

class LlmParser final : public IntentParser {
 public:
  LlmParser(LlmConnection connection, LlmPrompt prompt, std::map<std::string, LlmPrice> prices,
            std::size_t context_turns, std::shared_ptr<const Inventory> inventory, net::HttpClient& http);

  std::string_view name() const override { return "llm"; }
  // The model is on the network: the synchronous path answers `none` (degraded).
  ParseResult parse(std::string_view text) const override;
  // A request, a question or none, with `llm` filled in. When the call gave
  // nothing usable (timeout, 429, 5xx, bad JSON, truncated, prose), the
  // result is `none` with `degraded` and llm->error saying why.
  boost::asio::awaitable<ParseResult> parse_async(ParseInput input) const override;

  // The request body for one message (exposed for tests).
  nlohmann::json request_body(const ParseInput& input) const;
  const nlohmann::json& tools() const { return tools_; }
  const LlmConnection& connection() const { return connection_; }

 private:
  std::string system_prompt() const;

  LlmConnection connection_;
  LlmPrompt prompt_;
  std::map<std::string, LlmPrice> prices_;
  std::size_t context_turns_;
  std::shared_ptr<const Inventory> inventory_;
  net::HttpClient& http_;
  nlohmann::json tools_;
};

// The tool list for the action catalogue over this inventory.
nlohmann::json build_tools(const Inventory& inventory);
// "metrics.query" -> "metrics_query" (function names allow [A-Za-z0-9_-]).
std::string tool_name(std::string_view action);

// What one 200 answer says. error is empty when the result can be used (a
// request, or a question — including the questions that replace rejected
// calls, whose reason is in `rejected`).
struct Completion {
  ParseResult result;
  std::string error;     // malformed_json, truncated, content_filter, no_tool_call
  std::string rejected;  // unknown_tool, invalid_arguments, two_writes, invalid_request
  std::int64_t tokens_in = -1;
  std::int64_t tokens_out = -1;
  std::string response_model;
};
Completion interpret_completion(std::string_view body, const Inventory& inventory);

}  // namespace opsgate::intent
