// GitHub repositories and GitLab projects name inventory targets, and their
// environments inventory environments: one reader for both (gates_config).
#include <doctest/doctest.h>

#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/gates/gitlab.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Environment;
using opsgate::Inventory;
using opsgate::Target;

Inventory shop_inventory() {
  return Inventory({Target{"checkout", {"co"}, "shop", {}}}, {Environment{"prod", {"production"}}}, "prod");
}

std::string gitlab_yaml(const std::string& projects, const std::string& environments) {
  return "webhook_token: gitlab-webhook-token-0123456789\n"
         "api_base: https://gitlab.example/api/v4\n"
         "bot_token: glpat-0123456789abcdef\n"
         "projects: " + projects + "\n"
         "environments: " + environments + "\n";
}

std::string gitlab_error(const std::string& projects, const std::string& environments) {
  const Inventory inventory = shop_inventory();
  try {
    (void)opsgate::gates::parse_gitlab_config(ConfigNode::parse(gitlab_yaml(projects, environments), "gitlab.yaml"),
                                              inventory);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

}  // namespace

TEST_SUITE("gates/platform_names") {
  TEST_CASE("a project or environment names the inventory's target and environment, by alias or synonym too") {
    const Inventory inventory = shop_inventory();
    const auto config = opsgate::gates::parse_gitlab_config(
        ConfigNode::parse(gitlab_yaml("{acme/shop: co}", "{production-eu: production}"), "gitlab.yaml"), inventory);
    CHECK(config.projects.at("acme/shop") == "checkout");
    CHECK(config.environments.at("production-eu") == "prod");
  }

  TEST_CASE("a target or environment the inventory does not know fails at its line, naming it") {
    const std::string target = gitlab_error("{acme/shop: chekout}", "{production: prod}");
    CHECK(target.find("gitlab.yaml:4") != std::string::npos);
    CHECK(target.find("'chekout' is not a target in the inventory") != std::string::npos);
    const std::string env = gitlab_error("{acme/shop: checkout}", "{production: prd}");
    CHECK(env.find("gitlab.yaml:5") != std::string::npos);
    CHECK(env.find("'prd' is not an environment in the inventory") != std::string::npos);
  }
}
