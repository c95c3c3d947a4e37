#pragma once
// The intent cascade: tries parsers in order, stops at the first confident
// one, and validates its output against the action catalogue and inventory.
// Nothing a parser says is trusted beyond that validation. The language
// model (a parser named "llm") is asked only when no earlier parser is sure:
// not for a confident answer or question, not for chat nobody addressed to
// opsgate (unless configured), not over the team's daily budget; when it
// fails, the built-in parsers' best guess becomes a question instead.
// Immutable (the accounting it points to is thread-safe); any thread.

#include <memory>
#include <vector>

#include "src/core/clock.hpp"
#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::intent {

class LlmAccounting;

struct CascadeOptions {
  std::shared_ptr<LlmAccounting> accounting;  // budgets and metrics of LLM calls; may be null
  std::shared_ptr<const Clock> clock;          // for budget days; null: the system clock
  bool llm_unaddressed = false;                // ask the LLM about chat not addressed to opsgate
};

class IntentCascade final : public IntentParser {
 public:
  IntentCascade(std::vector<std::unique_ptr<IntentParser>> parsers, std::shared_ptr<const Inventory> inventory,
                double min_confidence, CascadeOptions options = {});
  std::string_view name() const override { return "cascade"; }
  // The built-in parsers only (an "llm" parser is skipped).
  ParseResult parse(std::string_view text) const override;
  boost::asio::awaitable<ParseResult> parse_async(ParseInput input) const override;

 private:
  struct Progress;
  // A finished answer when this parser's result settles it.
  std::optional<ParseResult> consider(ParseResult result, Progress& progress) const;
  ParseResult conclude(Progress& progress) const;

  std::vector<std::unique_ptr<IntentParser>> parsers_;
  std::shared_ptr<const Inventory> inventory_;
  double min_confidence_;
  CascadeOptions options_;
};

}  // namespace opsgate::intent
