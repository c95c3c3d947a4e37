#pragma once
// The demo inventory (DESIGN.md §4) and the cascade the daemon runs, for the
// language-parser tests.

#include <memory>
#include <vector>

#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "src/intent/nlu_parser.hpp"

namespace opsgate::test {

inline std::shared_ptr<const Inventory> nlu_demo_inventory() {
  return std::make_shared<Inventory>(
      std::vector<Target>{{"checkout", {}, "shop", {}},
                          {"payments-api", {"payments", "pay"}, "payments", {}},
                          {"cart", {}, "shop", {}},
                          {"search", {}, "discovery", {}},
                          {"frontend", {"web", "fe", "web frontend"}, "web", {}},
                          {"inventory", {"inv", "stock"}, "shop", {}}},
      std::vector<Environment>{{"prod", {"production", "prd", "live"}}, {"staging", {"stage", "stg"}}}, "prod");
}

// [command, nlu], command first, threshold 0.6: the production order.
inline intent::IntentCascade nlu_cascade(std::shared_ptr<const Inventory> inventory = nlu_demo_inventory()) {
  std::vector<std::unique_ptr<IntentParser>> parsers;
  parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
  parsers.push_back(std::make_unique<intent::NluParser>(inventory));
  return intent::IntentCascade(std::move(parsers), inventory, 0.6);
}

}  // namespace opsgate::test
