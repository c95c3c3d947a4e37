#pragma once
// `opsgate eval`: runs each variant of the intent cascade (a parser chain, a
// threshold, an LLM connection, a prompt) over a labelled JSONL dataset and
// reports per variant and per action; writes report.csv and report.html.

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "src/core/config.hpp"
#include "src/core/intent_parser.hpp"

namespace opsgate::app {

struct EvalOptions {
  std::string dataset;
  std::vector<std::string> variants;  // "NAME=key=value,key=value"
  std::optional<std::string> report_dir;
  bool json = false;
};

// A variant's overrides, parsed: `builtin=intent.parsers=command,nlu`,
// `strict=intent.min_confidence=0.9`, `gpt=intent.parsers=command,nlu,llm,llm.connection=openai`.
// A comma-separated piece without '=' continues the previous value.
struct VariantSpec {
  std::string name;
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string description() const;
};
// Throws std::invalid_argument with a readable message.
VariantSpec parse_variant(const std::string& text);

int run_eval(const Config& config, const EvalOptions& options);

// Runs a parser's async path (the cascade, LLM included) to completion on `io`,
// as an addressed message from "cli" (`opsgate parse`, eval).
ParseResult parse_blocking(boost::asio::io_context& io, const IntentParser& parser, const std::string& text);

}  // namespace opsgate::app
