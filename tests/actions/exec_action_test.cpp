#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "actions/exec/exec_action.hpp"
#include "tests/actions/exec_test_support.hpp"

using opsgate::ActionRequest;
using opsgate::ActionResult;
using opsgate::Errc;
using opsgate::Result;
using opsgate::actions::exec::ExecConfig;
using opsgate::actions::exec::make_exec_actions;
using opsgate::test_exec::no_children_left;
using opsgate::test_exec::read_file;
using opsgate::test_exec::TempDir;

namespace {

const std::string kBackend = OPSGATE_SOURCE_DIR "/scripts/demo-backend";

// The exec actions of one config, and an io_context to run them on.
class Harness {
 public:
  explicit Harness(const ExecConfig& config)
      : actions_(make_exec_actions(config, opsgate::test_exec::test_inventory(), io_.get_executor())) {}

  Result<ActionResult> run(const std::string& action, nlohmann::json params) {
    for (const auto& candidate : actions_) {
      if (candidate->spec().name == action) {
        return opsgate::test_exec::run_to_completion(io_, candidate->execute(ActionRequest{action, std::move(params)}));
      }
    }
    FAIL("no exec action " << action);
    return opsgate::fail(Errc::internal, "unreachable");
  }

  Result<std::optional<opsgate::ActionPreview>> preview(const std::string& action, nlohmann::json params) {
    for (const auto& candidate : actions_) {
      if (candidate->spec().name == action) {
        return opsgate::test_exec::run_to_completion(io_, candidate->preview(ActionRequest{action, std::move(params)}));
      }
    }
    FAIL("no exec action " << action);
    return opsgate::fail(Errc::internal, "unreachable");
  }

 private:
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<opsgate::Action>> actions_;
};

// The demo's commands, with the state in `state_dir`.
ExecConfig demo_config(const TempDir& state_dir) {
  ExecConfig config;
  config.timeout = std::chrono::seconds(10);
  config.env["OPSGATE_DEMO_STATE"] = state_dir.str();
  config.commands["restart"] = {kBackend, "restart", "{env}", "{target}"};
  config.commands["scale"] = {kBackend, "scale", "{env}", "{target}", "{replicas}"};
  config.commands["rollout.deploy"] = {kBackend, "deploy", "{env}", "{target}", "{version}"};
  config.commands["rollout.undo"] = {kBackend, "undo", "{env}", "{target}", "{revision?}"};
  config.commands["rollout.status"] = {kBackend, "status", "{env}", "{target}"};
  return config;
}

ExecConfig one_command(const std::string& action, std::vector<std::string> argv) {
  ExecConfig config;
  config.timeout = std::chrono::seconds(10);
  config.commands[action] = std::move(argv);
  return config;
}

nlohmann::json where(const std::string& target, const std::string& env) { return {{"target", target}, {"env", env}}; }

}  // namespace

TEST_SUITE("actions/exec/action") {
  TEST_CASE("the preview names the exact argv and runs nothing") {
    TempDir state;
    Harness harness(demo_config(state));
    auto params = where("cart", "prod");
    params["version"] = "2.0.0";
    const auto shown = harness.preview("rollout.deploy", params);
    REQUIRE(shown);
    REQUIRE(shown->has_value());
    CHECK((*shown)->text == "would run: " + kBackend + " deploy prod cart 2.0.0");
    CHECK((*shown)->fingerprint == nlohmann::json({kBackend, "deploy", "prod", "cart", "2.0.0"}).dump());
    CHECK_FALSE(std::filesystem::exists(state.path() / "prod" / "cart.state"));
    params["version"] = "1.0;rm -rf /";
    CHECK_FALSE(harness.preview("rollout.deploy", params));
  }

  TEST_CASE("the demo backend restarts, scales, deploys and rolls back through the state file") {
    TempDir state;
    Harness harness(demo_config(state));
    const auto cart_prod = state.path() / "prod" / "cart.state";
    const auto checkout_prod = state.path() / "prod" / "checkout.state";
    const auto cart_staging = state.path() / "staging" / "cart.state";

    const auto restarted = harness.run("restart", where("cart", "prod"));
    REQUIRE_MESSAGE(restarted, (restarted ? "" : restarted.error().message));
    CHECK(restarted->summary == "restarted cart in prod (3/3 pods replaced)");
    CHECK(restarted->data["exit_code"] == 0);
    CHECK(restarted->data["argv"] == nlohmann::json({kBackend, "restart", "prod", "cart"}));
    CHECK(read_file(cart_prod).find("restarted_at=") != std::string::npos);

    auto scale_params = where("checkout", "prod");
    scale_params["replicas"] = 5;
    const auto scaled = harness.run("scale", scale_params);
    REQUIRE(scaled);
    CHECK(scaled->summary == "scaled checkout in prod: 3 → 5 replicas");
    CHECK(read_file(checkout_prod).find("replicas=5\n") != std::string::npos);

    auto deploy_params = where("cart", "staging");
    deploy_params["version"] = "2.0.0";
    const auto deployed = harness.run("rollout.deploy", deploy_params);
    REQUIRE(deployed);
    CHECK(deployed->summary == "deployed cart 2.0.0 to staging (revision 2, was 1.0.0)");
    CHECK(read_file(cart_staging).find("version=2.0.0\nrevision=2\n") != std::string::npos);

    const auto undone = harness.run("rollout.undo", where("cart", "staging"));
    REQUIRE(undone);
    CHECK(undone->summary == "rolled back cart in staging to revision 1 (version 1.0.0)");
    CHECK(read_file(cart_staging).find("version=1.0.0\nrevision=1\n") != std::string::npos);

    auto redo_params = where("cart", "staging");
    redo_params["revision"] = 2;
    const auto redone = harness.run("rollout.undo", redo_params);
    REQUIRE(redone);
    CHECK(redone->summary == "rolled back cart in staging to revision 2 (version 2.0.0)");

    const auto status = harness.run("rollout.status", where("cart", "staging"));
    REQUIRE(status);
    CHECK(status->summary == "cart in staging: version 2.0.0, revision 2, 3/3 replicas ready");
    CHECK(no_children_left());
  }

  TEST_CASE("a refusal of the backend is an upstream error quoting its stderr") {
    TempDir state;
    Harness harness(demo_config(state));
    const auto undone = harness.run("rollout.undo", where("cart", "prod"));
    REQUIRE_FALSE(undone);
    CHECK(undone.error().code == Errc::upstream);
    CHECK(undone.error().message ==
          "`" + kBackend + "` exited with 3: demo-backend: no earlier revision: cart in prod is at revision 1");
  }

  TEST_CASE("an optional placeholder is dropped when the parameter is absent and passed when given") {
    Harness harness(one_command("rollout.undo", {"/bin/echo", "undo", "{env}", "{target}", "{revision?}"}));
    const auto without = harness.run("rollout.undo", where("cart", "prod"));
    REQUIRE(without);
    CHECK(without->summary == "undo prod cart");
    CHECK(without->data["argv"].size() == 4);
    auto params = where("cart", "prod");
    params["revision"] = 7;
    const auto with = harness.run("rollout.undo", params);
    REQUIRE(with);
    CHECK(with->summary == "undo prod cart 7");
  }

  TEST_CASE("namespace and deployment come from the inventory placement") {
    Harness harness(one_command("restart", {"/bin/echo", "{namespace}/{deployment}"}));
    const auto result = harness.run("restart", where("checkout", "staging"));
    REQUIRE(result);
    CHECK(result->summary == "shop-staging/checkout");
  }

  TEST_CASE("command output reaches chat and the audit log only after secret redaction") {
    Harness harness(one_command("restart", {"/bin/sh", "-c",
                                            "echo 'db login password=hunter2hunter2'; echo 'Authorization: Bearer abcdef123456789'"}));
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE(result);
    INFO(result->summary << " / " << result->data.dump());
    CHECK(result->summary.find("abcdef123456789") == std::string::npos);
    CHECK(result->summary.find("[REDACTED]") != std::string::npos);
    // (argv is the configured template: only what the command printed is checked.)
    CHECK(result->data["stdout"].get<std::string>().find("hunter2hunter2") == std::string::npos);
    CHECK(result->data["stdout"].get<std::string>().find("abcdef123456789") == std::string::npos);
    CHECK(result->data["stdout"].get<std::string>().find("password=[REDACTED]") != std::string::npos);

    Harness failing(one_command("restart", {"/bin/sh", "-c", "echo 'cannot log in: token=s3cr3t-t0ken-value' >&2; exit 3"}));
    const auto failed = failing.run("restart", where("cart", "prod"));
    REQUIRE_FALSE(failed);
    INFO(failed.error().message);
    CHECK(failed.error().message.find("s3cr3t-t0ken-value") == std::string::npos);
    CHECK(failed.error().message.find("token=[REDACTED]") != std::string::npos);
  }

  TEST_CASE("hostile values are refused and the command never runs") {
    TempDir state;
    Harness harness(demo_config(state));
    for (const char* hostile : {"cart; rm -rf /", "$(id)", "-rf", "cart\n", "cart prod", "`id`"}) {
      const auto target = harness.run("restart", where(hostile, "prod"));
      REQUIRE_FALSE(target);
      CHECK(target.error().code == Errc::invalid_input);
      CHECK(target.error().message.find("refusing to run `restart`: the target") == 0);
      auto deploy_params = where("cart", "prod");
      deploy_params["version"] = hostile;
      const auto version = harness.run("rollout.deploy", deploy_params);
      REQUIRE_FALSE(version);
      CHECK(version.error().code == Errc::invalid_input);
    }
    CHECK(std::filesystem::is_empty(state.path()));
    CHECK(no_children_left());
  }

  TEST_CASE("a command that runs too long becomes a timeout error") {
    ExecConfig config = one_command("restart", {"/bin/sleep", "30"});
    config.timeout = std::chrono::seconds(1);
    Harness harness(config);
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::timeout);
    CHECK(result.error().message == "command `restart` did not finish within 1s and was stopped");
    CHECK(no_children_left());
  }

  TEST_CASE("a non-zero exit reports the last lines of stderr") {
    Harness harness(one_command(
        "restart", {"/bin/sh", "-c", "echo progress; echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 2"}));
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::upstream);
    CHECK(result.error().message == "`/bin/sh` exited with 2: two; three; four");
  }

  TEST_CASE("output over the limit is truncated and flagged") {
    ExecConfig config = one_command("restart", {"/usr/bin/seq", "1", "100000"});
    config.output_limit = 1024;
    Harness harness(config);
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE(result);
    CHECK(result->data["stdout"].get<std::string>().size() == 1024);
    CHECK(result->data["truncated"] == true);
    CHECK_FALSE(result->summary.empty());
  }

  TEST_CASE("the summary is the last non-empty line of stdout, capped") {
    Harness harness(one_command("restart", {"/bin/sh", "-c", "echo first; echo last; echo; echo '  '"}));
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE(result);
    CHECK(result->summary == "last");
    Harness long_line(one_command("restart", {"/bin/sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x"}));
    const auto capped = long_line.run("restart", where("cart", "prod"));
    REQUIRE(capped);
    CHECK(capped->summary.size() == 2003);
  }

  TEST_CASE("a missing program is a clear unavailable error") {
    Harness harness(one_command("restart", {"/nonexistent/opsgate-backend", "{target}"}));
    const auto result = harness.run("restart", where("cart", "prod"));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::unavailable);
    CHECK(result.error().message == "cannot run `/nonexistent/opsgate-backend`: No such file or directory");
    CHECK(no_children_left());
  }
}
