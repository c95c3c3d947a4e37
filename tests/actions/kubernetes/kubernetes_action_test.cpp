#include <doctest/doctest.h>

#include <thread>

#include "actions/kubernetes/kubernetes_actions.hpp"
#include "tests/support/k8s_stand_in.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/process.hpp"

using namespace opsgate;
using namespace opsgate::actions::kubernetes;
using opsgate::test::K8sStandIn;
using opsgate::test::TempDir;
using nlohmann::json;

namespace {

// One stand-in API server for prod with cart (3 replicas of cart:3.1.0) and
// the Kubernetes actions configured against it.
struct Cluster {
  TempDir dir;
  test::K8sPki pki = test::make_k8s_pki(dir.path());
  K8sStandIn server{pki, "token-1"};
  test::FixedClock clock{test::unix_seconds(1767225600)};  // 2026-01-01T00:00:00Z
  net::HttpClient http;
  std::shared_ptr<const Inventory> inventory = test::loki_test_inventory();
  KubernetesConfig config;
  std::vector<std::unique_ptr<Action>> actions;
  boost::asio::io_context io;

  explicit Cluster(const std::string& ca_file = "") {
    dir.write("token", "token-1\n");
    server.add_deployment("shop-prod", "cart", "cart", "registry.example/cart:3.1.0", 3);
    ClusterConfig cluster;
    cluster.env = "prod";
    cluster.api_server = server.url();
    cluster.token_file = dir.file("token");
    cluster.ca_file = ca_file.empty() ? pki.ca_file : ca_file;
    config.clusters["prod"] = cluster;
    config.targets["cart"]["prod"] = TargetSettings{"cart", "registry.example/cart", 2, 10};
    config.follow_interval = std::chrono::milliseconds(5);
    config.follow_timeout = std::chrono::milliseconds(2000);
    actions = make_kubernetes_actions(config, inventory, http, clock);
  }

  Action& action(const std::string& name) {
    for (auto& a : actions) {
      if (a->spec().name == name) {
        return *a;
      }
    }
    throw std::runtime_error("no action " + name);
  }

  Result<ActionResult> run(const std::string& name, json params) {
    return test::run_on(io, action(name).execute(ActionRequest(name, std::move(params))));
  }
  Result<std::optional<ActionPreview>> preview(const std::string& name, json params) {
    return test::run_on(io, action(name).preview(ActionRequest(name, std::move(params))));
  }
  std::optional<FollowOutcome> follow(const std::string& name, json params, ActionResult result) {
    return test::run_on(io, action(name).follow(ActionRequest(name, std::move(params)), std::move(result)));
  }
  std::string image() const {
    return server.deployment("shop-prod", "cart")["spec"]["template"]["spec"]["containers"][0]["image"];
  }
};

json cart(json extra = json::object()) {
  json params = {{"target", "cart"}, {"env", "prod"}};
  params.update(extra);
  return params;
}

const std::string kDeploymentPath = "/apis/apps/v1/namespaces/shop-prod/deployments/cart";

}  // namespace

TEST_SUITE("actions/kubernetes") {
  TEST_CASE("restart sends kubectl's strategic merge patch of restartedAt with fieldManager=opsgate") {
    Cluster k;
    auto result = k.run("restart", cart());
    REQUIRE_MESSAGE(result, result.error().message);
    const auto writes = k.server.writes();
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].target == kDeploymentPath + "?fieldManager=opsgate");
    CHECK(writes[0].content_type == "application/strategic-merge-patch+json");
    // kubectl's patch, with the resourceVersion read just before as a precondition.
    json body = json::parse(writes[0].body);
    CHECK(body["metadata"]["resourceVersion"].is_string());
    body.erase("metadata");
    CHECK(body.dump() ==
          R"({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}})");
    CHECK(writes[0].authorization == "Bearer token-1");
    CHECK(result->summary.find("Restarted cart in prod") != std::string::npos);
    const json live = k.server.deployment("shop-prod", "cart");
    CHECK(live["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] ==
          "2026-01-01T00:00:00Z");
    CHECK(live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2");
  }

  TEST_CASE("restart refuses a paused deployment without patching") {
    Cluster k;
    k.server.set_paused("shop-prod", "cart", true);
    auto result = k.run("restart", cart());
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("paused") != std::string::npos);
    CHECK(k.server.writes().empty());
    auto undo = k.run("rollout.undo", cart());
    REQUIRE_FALSE(undo);
    CHECK(undo.error().message.find("paused") != std::string::npos);
    CHECK(k.server.writes().empty());
  }

  TEST_CASE("scale merge-patches the scale subresource within the target's bounds and reports old → new") {
    Cluster k;
    auto result = k.run("scale", cart({{"replicas", 5}}));
    REQUIRE_MESSAGE(result, result.error().message);
    const auto writes = k.server.writes();
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].target == kDeploymentPath + "/scale?fieldManager=opsgate");
    CHECK(writes[0].content_type == "application/merge-patch+json");
    CHECK(writes[0].body == R"({"spec":{"replicas":5}})");
    CHECK(result->summary.find("replicas 3 → 5") != std::string::npos);
    CHECK(k.server.deployment("shop-prod", "cart")["spec"]["replicas"] == 5);

    k.server.clear_requests();
    auto too_many = k.run("scale", cart({{"replicas", 30}}));
    REQUIRE_FALSE(too_many);
    CHECK(too_many.error().message.find("2 to 10 replicas") != std::string::npos);
    CHECK(k.server.requests().empty());  // refused before any request
  }

  TEST_CASE("deploy patches the configured container's image and reports old → new") {
    Cluster k;
    auto result = k.run("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE_MESSAGE(result, result.error().message);
    const auto writes = k.server.writes();
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].target == kDeploymentPath + "?fieldManager=opsgate");
    CHECK(writes[0].content_type == "application/strategic-merge-patch+json");
    CHECK(writes[0].body ==
          R"({"spec":{"template":{"spec":{"containers":[{"image":"registry.example/cart:3.2.0","name":"cart"}]}}}})");
    CHECK(result->summary.find("registry.example/cart:3.1.0 → registry.example/cart:3.2.0") != std::string::npos);
    CHECK(k.image() == "registry.example/cart:3.2.0");
  }

  TEST_CASE("a tag like '1.0,rm -rf /' or '../x' is refused before any request") {
    Cluster k;
    for (const std::string tag : {"1.0;rm -rf /", "../x", "$(id)", "a/b"}) {
      auto result = k.run("rollout.deploy", cart({{"version", tag}}));
      REQUIRE_FALSE(result);
      CHECK(result.error().code == Errc::invalid_input);
      auto preview = k.preview("rollout.deploy", cart({{"version", tag}}));
      REQUIRE_FALSE(preview);
    }
    CHECK(k.server.requests().empty());
  }

  TEST_CASE("dry-run previews say what would change and store nothing") {
    Cluster k;
    auto deploy = k.preview("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE_MESSAGE(deploy, deploy.error().message);
    REQUIRE(deploy->has_value());
    CHECK((*deploy)->text.find("image registry.example/cart:3.1.0 → registry.example/cart:3.2.0") != std::string::npos);
    CHECK_FALSE((*deploy)->fingerprint.empty());
    auto scale = k.preview("scale", cart({{"replicas", 4}}));
    REQUIRE(scale);
    CHECK((*scale)->text.find("replicas 3 → 4") != std::string::npos);
    auto restart = k.preview("restart", cart());
    REQUIRE(restart);
    CHECK((*restart)->text.find("would restart cart in prod") != std::string::npos);

    const auto writes = k.server.writes();
    REQUIRE(writes.size() == 3);
    for (const auto& w : writes) {
      CHECK(w.query == "dryRun=All&fieldManager=opsgate");
    }
    CHECK(k.image() == "registry.example/cart:3.1.0");
    CHECK(k.server.deployment("shop-prod", "cart")["spec"]["replicas"] == 3);
    CHECK(k.server.deployment("shop-prod", "cart")["metadata"]["generation"] == 1);

    // The fingerprint changes when the live object does.
    auto before = (*deploy)->fingerprint;
    k.server.set_image("shop-prod", "cart", "cart", "registry.example/cart:3.1.5");
    auto again = k.preview("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE(again);
    CHECK((*again)->fingerprint != before);
    CHECK((*again)->text.find("3.1.5 → registry.example/cart:3.2.0") != std::string::npos);

    // Nothing to do is an answer.
    auto same = k.preview("scale", cart({{"replicas", 3}}));
    REQUIRE(same);
    CHECK((*same)->nothing_to_do);
  }

  TEST_CASE("undo without a revision returns to the previous one with kubectl's JSON Patch") {
    Cluster k;
    k.server.set_rollout_polls(1);
    REQUIRE(k.run("rollout.deploy", cart({{"version", "3.2.0"}})));
    k.server.clear_requests();

    auto preview = k.preview("rollout.undo", cart());
    REQUIRE_MESSAGE(preview, preview.error().message);
    CHECK((*preview)->text.find("revision 2 → revision 1") != std::string::npos);
    CHECK((*preview)->text.find("registry.example/cart:3.2.0 → registry.example/cart:3.1.0") != std::string::npos);
    CHECK(k.image() == "registry.example/cart:3.2.0");

    k.server.clear_requests();
    auto result = k.run("rollout.undo", cart());
    REQUIRE_MESSAGE(result, result.error().message);
    const auto requests = k.server.requests();
    REQUIRE(requests.size() == 3);
    CHECK(requests[0].method == "GET");
    CHECK(requests[1].target == "/apis/apps/v1/namespaces/shop-prod/replicasets?labelSelector=app%3Dcart");
    CHECK(requests[2].method == "PATCH");
    CHECK(requests[2].content_type == "application/json-patch+json");
    const json patch = json::parse(requests[2].body);
    REQUIRE(patch.is_array());
    CHECK(patch[0]["op"] == "replace");
    CHECK(patch[0]["path"] == "/spec/template");
    CHECK(patch[1]["path"] == "/metadata/annotations");
    CHECK(k.image() == "registry.example/cart:3.1.0");
    // The controller reuses revision 1's ReplicaSet as revision 3.
    CHECK(k.server.deployment("shop-prod", "cart")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3");
  }

  TEST_CASE("undo to a named revision, already there, and without history") {
    Cluster k;
    k.server.set_rollout_polls(1);
    auto none = k.run("rollout.undo", cart());
    REQUIRE(none);
    CHECK(none->summary.find("no rollout history found") != std::string::npos);
    CHECK(none->data["changed"] == false);
    CHECK(k.server.writes().empty());

    REQUIRE(k.run("rollout.deploy", cart({{"version", "3.2.0"}})));
    REQUIRE(k.run("rollout.deploy", cart({{"version", "3.3.0"}})));
    auto at = k.run("rollout.undo", cart({{"revision", 3}}));
    REQUIRE(at);
    CHECK(at->summary.find("already at revision 3") != std::string::npos);

    auto back = k.run("rollout.undo", cart({{"revision", 1}}));
    REQUIRE_MESSAGE(back, back.error().message);
    CHECK(k.image() == "registry.example/cart:3.1.0");

    auto missing = k.run("rollout.undo", cart({{"revision", 42}}));
    REQUIRE(missing);
    CHECK(missing->summary.find("unable to find revision 42") != std::string::npos);
  }

  TEST_CASE("status reports images, revision and replicas") {
    Cluster k;
    auto status = k.run("rollout.status", cart());
    REQUIRE_MESSAGE(status, status.error().message);
    CHECK(status->summary.find("rolled out") != std::string::npos);
    CHECK(status->summary.find("revision 1") != std::string::npos);
    CHECK(status->summary.find("cart=registry.example/cart:3.1.0") != std::string::npos);
    CHECK(status->summary.find("3/3 available") != std::string::npos);
  }

  TEST_CASE("the follow loop reports success once the rollout completes") {
    Cluster k;
    k.server.set_rollout_polls(3);
    auto result = k.run("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE(result);
    auto outcome = k.follow("rollout.deploy", cart({{"version", "3.2.0"}}), *result);
    REQUIRE(outcome);
    CHECK(outcome->ok);
    CHECK(outcome->summary.find("cart rolled out in") != std::string::npos);
    CHECK(outcome->summary.find("(3/3 available)") != std::string::npos);
    std::size_t gets = 0;
    for (const auto& r : k.server.requests()) {
      gets += r.method == "GET" ? 1 : 0;
    }
    CHECK(gets >= 3);  // polled until the status converged
  }

  TEST_CASE("the follow loop reports ProgressDeadlineExceeded with a rollback suggestion") {
    Cluster k;
    k.server.fail_next_rollout("ReplicaSet \"cart-abc\" has timed out progressing.");
    auto result = k.run("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE(result);
    auto outcome = k.follow("rollout.deploy", cart({{"version", "3.2.0"}}), *result);
    REQUIRE(outcome);
    CHECK_FALSE(outcome->ok);
    CHECK(outcome->summary.find("has timed out progressing") != std::string::npos);
    REQUIRE(outcome->suggestions.size() == 1);
    CHECK(outcome->suggestions[0].command == "!rollback cart prod");
  }

  TEST_CASE("the follow loop gives up after its timeout") {
    Cluster k;
    k.server.set_rollout_polls(100000);
    k.config.follow_timeout = std::chrono::milliseconds(40);
    k.actions = make_kubernetes_actions(k.config, k.inventory, k.http, k.clock);
    auto result = k.run("scale", cart({{"replicas", 4}}));
    REQUIRE(result);
    auto outcome = k.follow("scale", cart({{"replicas", 4}}), *result);
    REQUIRE(outcome);
    CHECK_FALSE(outcome->ok);
    CHECK(outcome->summary.find("had not rolled out") != std::string::npos);
  }

  TEST_CASE("Status errors become answers, 409 Conflict is retried once after a fresh GET") {
    Cluster k;
    k.server.fail_next("PATCH", "/deployments/cart", 403, "Forbidden",
                       "deployments.apps \"cart\" is forbidden: User \"system:serviceaccount:ops:opsgate\" cannot "
                       "patch resource \"deployments\"");
    auto forbidden = k.run("restart", cart());
    REQUIRE_FALSE(forbidden);
    CHECK(forbidden.error().code == Errc::denied);
    CHECK(forbidden.error().message.find("forbidden: opsgate's service account may not patch deployments in shop-prod") !=
          std::string::npos);
    CHECK(forbidden.error().message.find("config/k8s/rbac.yaml") != std::string::npos);

    k.server.fail_next("GET", "/deployments/cart", 404, "NotFound", "deployments.apps \"cart\" not found");
    auto missing = k.run("restart", cart());
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK(missing.error().message.find("deployments.apps \"cart\" not found") != std::string::npos);

    k.server.fail_next("PATCH", "/deployments/cart", 422, "Invalid", "Deployment.apps \"cart\" is invalid");
    auto invalid = k.run("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == Errc::invalid_input);

    k.server.clear_requests();
    k.server.fail_next("PATCH", "/deployments/cart", 409, "Conflict", "the object has been modified");
    auto retried = k.run("rollout.deploy", cart({{"version", "3.2.0"}}));
    REQUIRE_MESSAGE(retried, retried.error().message);
    const auto requests = k.server.requests();
    REQUIRE(requests.size() == 4);  // GET, PATCH (409), GET, PATCH
    CHECK(requests[2].method == "GET");
    CHECK(requests[3].method == "PATCH");

    k.server.fail_next("PATCH", "/deployments/cart", 409, "Conflict", "the object has been modified", 2);
    auto twice = k.run("restart", cart());
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == Errc::conflict);
  }

  TEST_CASE("a rotated service account token is re-read from its file") {
    Cluster k;
    REQUIRE(k.run("rollout.status", cart()));
    k.server.set_token("token-2");
    k.dir.write("token", "token-2\n");
    auto after = k.run("rollout.status", cart());
    REQUIRE_MESSAGE(after, after.error().message);
    CHECK(k.server.requests().back().authorization == "Bearer token-2");

    k.server.set_token("token-3");  // the file still says token-2
    auto refused = k.run("rollout.status", cart());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::denied);
    CHECK(refused.error().message.find("did not accept opsgate's credentials") != std::string::npos);
  }

  TEST_CASE("TLS with the wrong CA is refused before anything is sent") {
    TempDir other;
    const auto wrong = test::make_k8s_pki(other.path(), "other-");
    Cluster k(wrong.ca_file);
    auto result = k.run("restart", cart());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::unavailable);
    CHECK(result.error().message.find("TLS") != std::string::npos);
    CHECK(k.server.requests().empty());
  }

  TEST_CASE("config: clusters per environment, targets with per-env overrides, unknown keys refused") {
    const auto inventory = test::loki_test_inventory();
    auto node = ConfigNode::parse(R"(clusters:
  prod: {api_server: "https://10.0.0.1:6443/", token_file: /run/token, ca_file: /run/ca.crt}
  staging: {api_server: "https://10.0.0.2:6443", client_cert_file: /c.crt, client_key_file: /c.key}
follow: {interval: 2s, timeout: 3m}
defaults: {max_replicas: 8}
targets:
  cart:
    image: registry.example/cart
    min_replicas: 2
    envs:
      prod: {max_replicas: 12, container: web}
)",
                                  "k8s.yaml");
    const auto config = parse_kubernetes_config(node, *inventory);
    CHECK(config.clusters.at("prod").api_server == "https://10.0.0.1:6443");
    CHECK(config.clusters.at("staging").client_cert_file == "/c.crt");
    CHECK(config.follow_timeout == std::chrono::minutes(3));
    const auto prod = config.settings("cart", "prod");
    CHECK(prod.max_replicas == 12);
    CHECK(prod.min_replicas == 2);
    CHECK(prod.container == "web");
    CHECK(prod.image == "registry.example/cart");
    CHECK(config.settings("cart", "staging").max_replicas == 8);
    CHECK(config.settings("checkout", "prod").max_replicas == 8);

    auto bad_key = ConfigNode::parse("clusters:\n  prod: {api_server: \"https://x:1\", token_file: t, tokn: x}\n", "k.yaml");
    CHECK_THROWS_WITH_AS(parse_kubernetes_config(bad_key, *inventory), doctest::Contains("tokn"), ConfigError);
    auto tagged = ConfigNode::parse(
        "clusters:\n  prod: {api_server: \"https://x:1\", token_file: t}\ntargets:\n  cart: {image: \"r/cart:1.0\"}\n",
        "k.yaml");
    CHECK_THROWS_WITH_AS(parse_kubernetes_config(tagged, *inventory), doctest::Contains("without a tag"), ConfigError);
    auto unknown_env = ConfigNode::parse("clusters:\n  qa: {api_server: \"https://x:1\", token_file: t}\n", "k.yaml");
    CHECK_THROWS_WITH_AS(parse_kubernetes_config(unknown_env, *inventory), doctest::Contains("qa"), ConfigError);
  }
}
