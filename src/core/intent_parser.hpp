#pragma once
// Extension point: turns chat text into a ParseResult. Pure: no side effects,
// safe to call from any thread.

#include <string_view>

#include "src/core/action_request.hpp"

namespace opsgate {

class IntentParser {
 public:
  virtual ~IntentParser() = default;
  virtual std::string_view name() const = 0;
  virtual ParseResult parse(std::string_view text) const = 0;
};

}  // namespace opsgate
