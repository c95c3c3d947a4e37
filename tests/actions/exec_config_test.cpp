#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "actions/exec/exec_action.hpp"
#include "src/core/action_catalogue.hpp"
#include "tests/actions/exec_test_support.hpp"

using opsgate::actions::exec::ExecConfig;
using opsgate::actions::exec::make_exec_actions;
using opsgate::actions::exec::parse_exec_config;
using opsgate::test_exec::exec_config_error;
using opsgate::test_exec::exec_config_from;

namespace {

// Line numbers in the errors below count from this prefix: `actions:` is
// line 1, `exec:` line 2, `timeout:` line 3, `commands:` line 4, and the
// first command line 5.
std::string with_commands(const std::string& commands) {
  return "actions:\n"
         "  exec:\n"
         "    timeout: 5s\n"
         "    commands:\n" +
         commands;
}

}  // namespace

TEST_SUITE("actions/exec/config") {
  TEST_CASE("the demo config's exec section parses into five commands") {
    const auto root = opsgate::ConfigNode::load_file(OPSGATE_SOURCE_DIR "/config/demo.yaml");
    const ExecConfig config = parse_exec_config(root.child("actions").child("exec"));
    CHECK(config.timeout == std::chrono::seconds(20));
    CHECK(config.commands.size() == 5);
    CHECK(config.commands.at("rollout.undo").back() == "{revision?}");
    CHECK(config.env.at("OPSGATE_DEMO_STATE") == "var/demo");
  }

  TEST_CASE("defaults are a 20s timeout, 64 KiB of output and no working directory") {
    const ExecConfig config = exec_config_from(
        "actions:\n  exec:\n    commands:\n      restart: [/bin/true, \"{target}\"]\n");
    CHECK(config.timeout == std::chrono::seconds(20));
    CHECK(config.output_limit == 64 * 1024);
    CHECK(config.working_dir.empty());
    CHECK(config.env.empty());
  }

  TEST_CASE("all options are read") {
    const ExecConfig config = exec_config_from(
        "actions:\n  exec:\n    timeout: 1m\n    working_dir: /tmp\n    output_limit: 2048\n"
        "    env: {A: b}\n    commands:\n      scale: [kubectl, scale, \"--replicas={replicas}\", "
        "\"-n={namespace}\", \"deployment/{deployment}\"]\n");
    CHECK(config.timeout == std::chrono::seconds(60));
    CHECK(config.working_dir == "/tmp");
    CHECK(config.output_limit == 2048);
    CHECK(config.env.at("A") == "b");
    CHECK(config.commands.at("scale").size() == 5);
  }

  TEST_CASE("an unknown placeholder names file, line and key") {
    const std::string error = exec_config_error(
        with_commands("      restart: [/bin/true, \"{env}\"]\n"
                      "      scale: [/bin/true, \"{target}\", \"{replica}\"]\n"));
    CHECK(error.find("test.yaml:6: actions.exec.commands.scale:") == 0);
    CHECK(error.find("unknown placeholder {replica}") != std::string::npos);
  }

  TEST_CASE("an action outside the catalogue is refused") {
    const std::string error = exec_config_error(with_commands("      reboot: [/sbin/reboot]\n"));
    CHECK(error.find("test.yaml:5: actions.exec.commands.reboot:") == 0);
    CHECK(error.find("unknown action 'reboot'") != std::string::npos);
  }

  TEST_CASE("a read action other than rollout.status is refused, and so is a meta action") {
    const std::string read = exec_config_error(with_commands("      metrics.query: [/bin/true]\n"));
    CHECK(read.find("test.yaml:5: actions.exec.commands.metrics.query:") == 0);
    CHECK(read.find("is a read action") != std::string::npos);
    const std::string meta = exec_config_error(with_commands("      approve: [/bin/true]\n"));
    CHECK(meta.find("is a meta action") != std::string::npos);
    CHECK(exec_config_error(with_commands("      rollout.status: [/bin/true, \"{target}\"]\n")).empty());
  }

  TEST_CASE("an empty command, an empty program and a placeholder as the program are refused") {
    const std::string empty = exec_config_error(with_commands("      restart: []\n"));
    CHECK(empty.find("test.yaml:5: actions.exec.commands.restart:") == 0);
    CHECK(empty.find("the command is empty") != std::string::npos);
    const std::string missing = exec_config_error(with_commands("      restart:\n      scale: [/bin/true]\n"));
    CHECK(missing.find("actions.exec.commands.restart: the command is empty") != std::string::npos);
    const std::string blank = exec_config_error(with_commands("      restart: [\"\", \"{target}\"]\n"));
    CHECK(blank.find("the program (the first element of the command) is empty") != std::string::npos);
    const std::string templated = exec_config_error(with_commands("      restart: [\"{target}\"]\n"));
    CHECK(templated.find("cannot contain a placeholder") != std::string::npos);
  }

  TEST_CASE("exec: an unknown key names file, line and key") {
    const std::string error =
        exec_config_error("actions:\n  exec:\n    timeot: 5s\n    commands:\n      restart: [/bin/true]\n");
    CHECK(error.find("test.yaml:3: actions.exec.timeot: unknown key") == 0);
    const std::string nested = exec_config_error(
        "actions:\n  exec:\n    env:\n      GOOD: x\n      BAD-NAME: y\n    commands:\n      restart: [/bin/true]\n");
    CHECK(nested.find("test.yaml:5: actions.exec.env.BAD-NAME:") == 0);
  }

  TEST_CASE("a placeholder of a parameter the action does not have is refused") {
    const std::string error = exec_config_error(with_commands("      restart: [/bin/true, \"{replicas}\"]\n"));
    CHECK(error.find("test.yaml:5: actions.exec.commands.restart:") == 0);
    CHECK(error.find("`restart` has no parameter replicas") != std::string::npos);
    const std::string version = exec_config_error(with_commands("      rollout.status: [/bin/true, \"{version}\"]\n"));
    CHECK(version.find("`rollout.status` has no parameter version") != std::string::npos);
  }

  TEST_CASE("an optional placeholder must be a whole argument") {
    const std::string error =
        exec_config_error(with_commands("      rollout.undo: [/bin/true, \"--to={revision?}\"]\n"));
    CHECK(error.find("test.yaml:5: actions.exec.commands.rollout.undo:") == 0);
    CHECK(error.find("must be the whole argument") != std::string::npos);
  }

  TEST_CASE("braces that are not placeholders are refused unless doubled") {
    CHECK(exec_config_error(with_commands("      restart: [/bin/true, \"{target\"]\n")).find("unclosed '{'") !=
          std::string::npos);
    CHECK(exec_config_error(with_commands("      restart: [/bin/true, \"a}\"]\n")).find("unmatched '}'") !=
          std::string::npos);
    CHECK(exec_config_error(with_commands("      restart: [/bin/true, \"{{.spec}}\"]\n")).empty());
  }

  TEST_CASE("a timeout over an hour and a tiny output limit are refused") {
    CHECK(exec_config_error("actions:\n  exec:\n    timeout: 2h\n    commands:\n      restart: [/bin/true]\n")
              .find("test.yaml:3: actions.exec.timeout: at most 1h") == 0);
    CHECK(exec_config_error("actions:\n  exec:\n    output_limit: 10\n    commands:\n      restart: [/bin/true]\n")
              .find("test.yaml:3: actions.exec.output_limit:") == 0);
  }

  TEST_CASE("the factory makes one action per command whose spec is the catalogue's") {
    const ExecConfig config = exec_config_from(
        "actions:\n  exec:\n    commands:\n      restart: [/bin/true]\n      rollout.status: [/bin/true]\n");
    boost::asio::io_context io;
    const auto actions = make_exec_actions(config, opsgate::test_exec::test_inventory(), io.get_executor());
    REQUIRE(actions.size() == 2);
    CHECK(&actions[0]->spec() == opsgate::find_action("restart"));
    CHECK(&actions[1]->spec() == opsgate::find_action("rollout.status"));
  }

  TEST_CASE("the factory refuses a hand-built config that parsing would have refused") {
    ExecConfig config;
    config.commands["metrics.query"] = {"/bin/true"};
    boost::asio::io_context io;
    CHECK_THROWS_AS(make_exec_actions(config, opsgate::test_exec::test_inventory(), io.get_executor()),
                    opsgate::ConfigError);
    ExecConfig unknown;
    unknown.commands["restart"] = {"/bin/true", "{oops}"};
    CHECK_THROWS_AS(make_exec_actions(unknown, opsgate::test_exec::test_inventory(), io.get_executor()),
                    opsgate::ConfigError);
  }
}
