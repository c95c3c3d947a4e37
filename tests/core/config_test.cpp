#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "src/core/config.hpp"

using namespace opsgate;

namespace {

std::string error_of(const std::string& yaml) {
  try {
    load_config(ConfigNode::parse(yaml, "test.yaml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

const std::string kMinimal = R"(environments:
  prod:
    synonyms: [production]
  staging: {}
targets:
  cart:
    namespace: "shop-{env}"
)";

}  // namespace

TEST_SUITE("core/config") {
  TEST_CASE("the demo config holds exactly the DESIGN inventory") {
    const Config c = load_config(ConfigNode::load_file(OPSGATE_SOURCE_DIR "/config/demo.yaml"));
    const Inventory& inv = *c.inventory;
    CHECK(inv.target_names() == std::vector<std::string>{"checkout", "payments-api", "cart", "search", "frontend", "inventory"});
    CHECK(inv.env_names() == std::vector<std::string>{"prod", "staging"});
    CHECK(inv.default_env() == "prod");
    CHECK(inv.find_target("pay")->name == "payments-api");
    CHECK(inv.find_target("payments")->name == "payments-api");
    CHECK(inv.find_target("web frontend")->name == "frontend");
    CHECK(inv.find_target("FE")->name == "frontend");
    CHECK(inv.find_target("stock")->name == "inventory");
    CHECK(inv.find_env("live")->name == "prod");
    CHECK(inv.find_env("prd")->name == "prod");
    CHECK(inv.find_env("stg")->name == "staging");
    CHECK(inv.find_target("nonexistent") == nullptr);
    const TargetPlacement* p = inv.placement("checkout", "prod");
    REQUIRE(p != nullptr);
    CHECK(p->namespace_name == "shop-prod");
    CHECK(p->deployment == "checkout");
    CHECK(p->prometheus_selector == "app=\"checkout\",namespace=\"shop-prod\"");
    CHECK(p->loki_selector == "{app=\"checkout\",namespace=\"shop-prod\"}");
    CHECK(c.storage_path == "var/opsgate.db");
  }

  TEST_CASE("an unknown key names the file, line and key") {
    const std::string e = error_of(kMinimal + "storage:\n  paht: x.db\n");
    CHECK(e.find("test.yaml:9: storage.paht: unknown key") == 0);
  }

  TEST_CASE("a wrong type names what is expected") {
    CHECK(error_of(kMinimal + "actions:\n  timeout: soon\n").find("test.yaml:9: actions.timeout: expected a duration") == 0);
    CHECK(error_of(kMinimal + "intent:\n  min_confidence_percent: high\n").find("intent.min_confidence_percent: expected a whole number") !=
          std::string::npos);
  }

  TEST_CASE("a missing required section is named") {
    CHECK(error_of("environments:\n  prod: {}\n").find("test.yaml:1: targets: is required but missing") == 0);
  }

  TEST_CASE("default_env must be a declared environment") {
    CHECK(error_of(kMinimal + "default_env: qa\n").find("test.yaml:8: default_env: 'qa' is not one of the environments") == 0);
  }

  TEST_CASE("an alias used twice is refused") {
    const std::string e = error_of(kMinimal + "  checkout:\n    aliases: [cart]\n");
    CHECK(e.find("targets.checkout") != std::string::npos);
    CHECK(e.find("'cart' is already used") != std::string::npos);
  }

  TEST_CASE("a Loki selector without braces is refused") {
    const std::string e = error_of(kMinimal + "  search:\n    loki_selector: app=search\n");
    CHECK(e.find("loki_selector: a Loki stream selector needs braces") != std::string::npos);
  }

  TEST_CASE("environment variables are substituted, with defaults") {
    ::setenv("OPSGATE_TEST_DB", "/tmp/x.db", 1);
    Config c = load_config(ConfigNode::parse(kMinimal + "storage:\n  path: ${env:OPSGATE_TEST_DB}\n", "t.yaml"));
    CHECK(c.storage_path == "/tmp/x.db");
    ::unsetenv("OPSGATE_TEST_DB");
    c = load_config(ConfigNode::parse(kMinimal + "storage:\n  path: ${env:OPSGATE_TEST_DB:-var/d.db}\n", "t.yaml"));
    CHECK(c.storage_path == "var/d.db");
    CHECK(error_of(kMinimal + "storage:\n  path: ${env:OPSGATE_TEST_DB}\n").find("environment variable OPSGATE_TEST_DB is not set") !=
          std::string::npos);
  }

  TEST_CASE("secrets come from env or file and name their source, never their value") {
    ::setenv("OPSGATE_TEST_TOKEN", "xoxb-secret", 1);
    const ConfigNode node = ConfigNode::parse("token: {env: OPSGATE_TEST_TOKEN}\n", "s.yaml");
    const Secret s = node.secret("token");
    CHECK(s.reveal() == "xoxb-secret");
    CHECK(s.source() == "env:OPSGATE_TEST_TOKEN");
    const ConfigNode both = ConfigNode::parse("token: {env: A, file: B}\n", "s.yaml");
    CHECK_THROWS_WITH_AS(both.secret("token"), doctest::Contains("exactly one of env: or file:"), ConfigError);
    ::unsetenv("OPSGATE_TEST_TOKEN");
  }

  TEST_CASE("YAML syntax errors name the line") {
    const std::string e = error_of("environments:\n  prod: [\n");
    CHECK(e.find("test.yaml:") == 0);
    CHECK(e.find("YAML syntax error") != std::string::npos);
  }
}
