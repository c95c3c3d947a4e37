#include "src/intent/cascade.hpp"

#include "src/core/action_catalogue.hpp"

namespace opsgate::intent {

IntentCascade::IntentCascade(std::vector<std::unique_ptr<IntentParser>> parsers,
                             std::shared_ptr<const Inventory> inventory, double min_confidence)
    : parsers_(std::move(parsers)), inventory_(std::move(inventory)), min_confidence_(min_confidence) {}

ParseResult IntentCascade::parse(std::string_view text) const {
  std::optional<ParseResult> fallback_question;
  for (const auto& parser : parsers_) {
    ParseResult result = parser->parse(text);
    if (result.kind == ParseKind::none) {
      continue;
    }
    if (result.kind == ParseKind::clarify) {
      // A later parser may still understand it; keep the first question.
      if (!fallback_question) {
        fallback_question = std::move(result);
      }
      continue;
    }
    if (result.confidence < min_confidence_) {
      continue;
    }
    auto validated = validate_request(result.request, *inventory_);
    if (!validated) {
      ParseResult question = ParseResult::clarify(result.parser, validated.error().question, validated.error().options);
      question.confidence = result.confidence;
      question.request = result.request;  // what was understood, for the audit log
      return question;
    }
    result.request = std::move(*validated);
    return result;
  }
  if (fallback_question) {
    return *fallback_question;
  }
  return ParseResult::none("cascade");
}

}  // namespace opsgate::intent
