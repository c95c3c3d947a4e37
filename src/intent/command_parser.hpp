#pragma once
// The exact-syntax parser, first in the cascade: `!restart cart staging`,
// `/ops scale cart 3 env=staging`, and the same without a prefix when the
// message starts with a command verb ("restart cart in staging").
// Immutable after construction; safe to call from any thread.

#include <memory>

#include "src/core/intent_parser.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::intent {

class CommandParser final : public IntentParser {
 public:
  explicit CommandParser(std::shared_ptr<const Inventory> inventory);
  std::string_view name() const override { return "command"; }
  ParseResult parse(std::string_view text) const override;

 private:
  std::shared_ptr<const Inventory> inventory_;
};

// Confidence of a prefixed command (`!`, `/ops`) and of a bare verb form.
inline constexpr double kPrefixedConfidence = 1.0;
inline constexpr double kBareConfidence = 0.9;

}  // namespace opsgate::intent
