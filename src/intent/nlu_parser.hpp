#pragma once
// The built-in language parser, second in the cascade: everyday operations
// English ("bounce the payments pods in staging", "p99 for chekout last 2h")
// to a ParseResult, with no network and no model: a fixed vocabulary, the
// inventory's names, aliases and synonyms, and typo tolerance that refuses
// ties. Deterministic; immutable after construction; safe from any thread.

#include <cstddef>
#include <memory>

#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::intent {

namespace nlu {
struct Vocabulary;
}

class NluParser final : public IntentParser {
 public:
  explicit NluParser(std::shared_ptr<const Inventory> inventory);
  ~NluParser() override;
  NluParser(const NluParser&) = delete;
  NluParser& operator=(const NluParser&) = delete;

  std::string_view name() const override { return "nlu"; }
  ParseResult parse(std::string_view text) const override;

 private:
  std::shared_ptr<const Inventory> inventory_;
  std::unique_ptr<const nlu::Vocabulary> vocabulary_;  // inventory names as phrases and spellings
};

// Longer messages are not requests (pasted logs, stack traces): `none`,
// without reading them.
inline constexpr std::size_t kNluMaxMessageBytes = 4096;

// Calibrated confidences. The cascade's default threshold is 0.6: everything
// the parser is willing to act on is above it; guesses sit lower.
inline constexpr double kNluConfident = 0.95;   // verb + target + every required value found
inline constexpr double kNluExplicit = 0.9;     // an explicit read ("error rate of cart")
inline constexpr double kNluInferred = 0.85;    // read through a softer cue ("latency" -> p99)
inline constexpr double kNluFuzzy = 0.75;       // the target or environment was a typo we corrected
inline constexpr double kNluWeak = 0.7;         // a symptom without a verb ("cart errors")

}  // namespace opsgate::intent
