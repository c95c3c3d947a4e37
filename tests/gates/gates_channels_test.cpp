// Where a gate is posted: gates.channels, read by the shared reader
// (src/core/channel_routes), keyed by the target's name.

#include <doctest/doctest.h>

#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/gates/gates_config.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Environment;
using opsgate::Inventory;
using opsgate::Target;

Inventory shop_inventory() {
  return Inventory({Target{"checkout", {"co"}, "shop", {}}, Target{"search", {}, "discovery", {}}},
                   {Environment{"prod", {}}}, "prod");
}

opsgate::gates::GatesConfig gates_with(const std::string& channels) {
  return opsgate::gates::parse_gates_config(ConfigNode::parse("channels:\n" + channels, "gates.yaml"),
                                            shop_inventory());
}

}  // namespace

TEST_SUITE("gates/gates_channels") {
  TEST_CASE("a gate goes to its target's channel, else its team's, else the default") {
    const Inventory inventory = shop_inventory();
    const auto config = gates_with("  default: slack:C0OPS\n  teams: {discovery: \"slack:C0DISC\"}\n"
                                   "  targets: {checkout: \"slack:C0CHECKOUT\"}\n");
    CHECK(config.channels.channel_for("checkout", inventory)->channel == "C0CHECKOUT");
    CHECK(config.channels.channel_for("search", inventory)->channel == "C0DISC");
    CHECK(config.channels.channel_for("cart", inventory)->channel == "C0OPS");
  }

  TEST_CASE("a channel keyed by a target's alias is refused at its line: gates are routed by the target's name") {
    // Before the shared reader, gates accepted `co` here and never used it.
    try {
      (void)gates_with("  default: slack:C0OPS\n  targets: {co: \"slack:C0CHECKOUT\"}\n");
      FAIL("an alias was accepted");
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "gates.yaml:3: channels.targets.co: is not a target in the inventory: write the target's name, checkout");
    }
  }
}
