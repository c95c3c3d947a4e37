// storage.postgres.leader_lease: its ttl and safety margin are checked when
// the config loads (file:line and key), and the values are the ones the
// daemon's Leadership runs with (build_components, as `opsgate serve` builds it).

#include <doctest/doctest.h>

#include <string>

#include <boost/asio/io_context.hpp>

#include "src/app/components.hpp"
#include "src/core/config.hpp"

namespace {

opsgate::Config pg_config(const std::string& lease) {
  const std::string text = "storage:\n"                                // 1
                           "  path: /nonexistent/opsgate.db\n"         // 2
                           "  backend: postgres\n"                     // 3
                           "  postgres:\n"                             // 4
                           "    dsn: host=db dbname=opsgate\n"         // 5
                           + lease +                                   // 6…
                           "environments: {prod: {}}\n"
                           "targets: {checkout: {team: shop}}\n";
  return opsgate::load_config(opsgate::ConfigNode::parse(text, "c.yaml"));
}

std::string load_error(const std::string& lease) {
  try {
    (void)pg_config(lease);
  } catch (const opsgate::ConfigError& e) {
    return e.what();
  }
  return "(loaded)";
}

}  // namespace

TEST_SUITE("app/leader_lease_config") {
  TEST_CASE("leader_lease ttl and safety_margin reach the daemon's Leadership") {
    const opsgate::Config config = pg_config("    leader_lease: {ttl: 30s, safety_margin: 8s}\n");
    boost::asio::io_context io;
    const opsgate::app::Components c = opsgate::app::build_components(config, io.get_executor());
    REQUIRE(c.leadership);
    CHECK(c.leadership->options().ttl == std::chrono::seconds(30));
    CHECK(c.leadership->options().safety_margin == std::chrono::seconds(8));
    CHECK(c.leadership->renew_interval() == std::chrono::seconds(10));
  }

  TEST_CASE("without leader_lease the lease is 15s with a 5s margin") {
    const opsgate::Config config = pg_config("");
    boost::asio::io_context io;
    const opsgate::app::Components c = opsgate::app::build_components(config, io.get_executor());
    CHECK(c.leadership->options().ttl == std::chrono::seconds(15));
    CHECK(c.leadership->options().safety_margin == std::chrono::seconds(5));
  }

  TEST_CASE("a safety margin over half the ttl is refused at its line") {
    const std::string error = load_error("    leader_lease:\n      ttl: 10s\n      safety_margin: 6s\n");
    INFO(error);
    CHECK(error.find("c.yaml:8") != std::string::npos);
    CHECK(error.find("safety_margin") != std::string::npos);
    CHECK(error.find("at most half the ttl (10s), got 6s") != std::string::npos);
  }

  TEST_CASE("a safety margin as long as the ttl is refused") {
    const std::string error = load_error("    leader_lease: {ttl: 15s, safety_margin: 15s}\n");
    INFO(error);
    CHECK(error.find("c.yaml:6") != std::string::npos);
    CHECK(error.find("safety_margin") != std::string::npos);
  }

  TEST_CASE("a ttl under 3s or over 10m is refused at its line") {
    const std::string short_ttl = load_error("    leader_lease:\n      ttl: 2s\n      safety_margin: 1s\n");
    INFO(short_ttl);
    CHECK(short_ttl.find("c.yaml:7") != std::string::npos);
    CHECK(short_ttl.find("ttl: must be between 3s and 10m") != std::string::npos);
    const std::string long_ttl = load_error("    leader_lease: {ttl: 1h}\n");
    CHECK(long_ttl.find("must be between 3s and 10m") != std::string::npos);
  }

  TEST_CASE("a zero margin, a bad duration and an unknown key are refused") {
    CHECK(load_error("    leader_lease: {ttl: 15s, safety_margin: 0s}\n").find("safety_margin") != std::string::npos);
    const std::string bad = load_error("    leader_lease: {ttl: fifteen}\n");
    INFO(bad);
    CHECK(bad.find("expected a duration such as 30s") != std::string::npos);
    const std::string typo = load_error("    leader_lease: {ttl: 15s, margin: 5s}\n");
    INFO(typo);
    CHECK(typo.find("margin") != std::string::npos);
    CHECK(load_error("    leader_lease: 15s\n").find("expected a mapping") != std::string::npos);
  }

  TEST_CASE("leader_lease under a sqlite backend is refused with the postgres section") {
    const std::string text = "storage:\n  path: x.db\n  postgres:\n    leader_lease: {ttl: 15s}\n"
                             "environments: {prod: {}}\ntargets: {checkout: {team: shop}}\n";
    try {
      (void)opsgate::load_config(opsgate::ConfigNode::parse(text, "c.yaml"));
      FAIL("loaded");
    } catch (const opsgate::ConfigError& e) {
      CHECK(std::string(e.what()).find("only with backend: postgres") != std::string::npos);
    }
  }
}
