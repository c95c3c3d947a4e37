#pragma once
// The intent cascade: tries parsers in order, stops at the first confident
// one, and validates its output against the action catalogue and inventory.
// Nothing a parser says is trusted beyond that validation. Immutable; any thread.

#include <memory>
#include <vector>

#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::intent {

class IntentCascade final : public IntentParser {
 public:
  IntentCascade(std::vector<std::unique_ptr<IntentParser>> parsers, std::shared_ptr<const Inventory> inventory,
                double min_confidence);
  std::string_view name() const override { return "cascade"; }
  ParseResult parse(std::string_view text) const override;

 private:
  std::vector<std::unique_ptr<IntentParser>> parsers_;
  std::shared_ptr<const Inventory> inventory_;
  double min_confidence_;
};

}  // namespace opsgate::intent
