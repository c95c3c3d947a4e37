// The `channels:` block of alertmanager and gates: one reader, one routing rule.
#include <doctest/doctest.h>

#include <string>

#include "src/core/channel_routes.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Environment;
using opsgate::Inventory;
using opsgate::Target;

Inventory shop_inventory() {
  return Inventory({Target{"checkout", {"co"}, "shop", {}}, Target{"cart", {}, "shop", {}},
                    Target{"search", {}, "discovery", {}}},
                   {Environment{"prod", {}}}, "prod");
}

opsgate::ChannelRoutes read(const std::string& channels) {
  const ConfigNode section = ConfigNode::parse("channels:\n" + channels, "routes.yaml");
  return opsgate::read_channel_routes(section, shop_inventory());
}

std::string error_of(const std::string& channels) {
  try {
    (void)read(channels);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST_SUITE("core/channel_routes") {
  TEST_CASE("a target's own channel wins, then its team's, then the default") {
    const Inventory inventory = shop_inventory();
    const auto routes = read("  default: shell:alerts\n"
                             "  teams: {shop: \"slack:C0SHOP\"}\n"
                             "  targets: {checkout: \"teams:ops-checkout\"}\n");
    REQUIRE(routes.channel_for("checkout", inventory));
    CHECK(routes.channel_for("checkout", inventory)->platform == "teams");
    CHECK(routes.channel_for("checkout", inventory)->channel == "ops-checkout");
    CHECK(routes.channel_for("cart", inventory)->channel == "C0SHOP");
    CHECK(routes.channel_for("search", inventory)->channel == "alerts");
    CHECK(routes.channel_for("unknown", inventory)->platform == "shell");
  }

  TEST_CASE("without a default, a target of no routed team has no channel") {
    const Inventory inventory = shop_inventory();
    const auto routes = read("  teams: {shop: \"slack:C0SHOP\"}\n");
    CHECK_FALSE(routes.default_channel);
    CHECK_FALSE(routes.channel_for("search", inventory));
    CHECK(routes.channel_for("cart", inventory)->channel == "C0SHOP");
  }

  TEST_CASE("each mistake names file:line and the key") {
    CHECK(error_of("  default: slack\n") ==
          "routes.yaml:2: channels.default: expected <platform>:<channel>, e.g. slack:C0OPS or shell:alerts; got "
          "'slack'");
    CHECK(error_of("  teams: {shop: \"slack:\"}\n").find("routes.yaml:2: channels.teams.shop: expected "
                                                          "<platform>:<channel>") == 0);
    CHECK(error_of("  targets: {chekout: \"slack:C0\"}\n") ==
          "routes.yaml:2: channels.targets.chekout: is not a target in the inventory");
    CHECK(error_of("  default: shell:alerts\n  team: {shop: \"slack:C0SHOP\"}\n").find("routes.yaml:3") == 0);
    CHECK(error_of("  {}\n").find("routes.yaml:2: channels: names no channel") == 0);
  }

  TEST_CASE("a target is routed by its name: an alias would never match, so it is refused") {
    CHECK(error_of("  targets: {co: \"slack:C0\"}\n") ==
          "routes.yaml:2: channels.targets.co: is not a target in the inventory: write the target's name, checkout");
  }

  TEST_CASE("the section must have a channels mapping") {
    CHECK(error_of("  - slack:C0\n").find("routes.yaml:2: channels: expected {default:") == 0);
  }
}
