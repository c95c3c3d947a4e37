#include <doctest/doctest.h>

#include "actions/kubernetes/kube_rollout.hpp"

using namespace opsgate::actions::kubernetes;
using nlohmann::json;

namespace {

json deployment(std::int64_t generation, std::int64_t observed, std::int64_t replicas, std::int64_t updated,
                std::int64_t available, std::int64_t total) {
  return {{"metadata", {{"name", "cart"}, {"generation", generation}}},
          {"spec", {{"replicas", replicas}}},
          {"status",
           {{"observedGeneration", observed},
            {"updatedReplicas", updated},
            {"availableReplicas", available},
            {"replicas", total}}}};
}

json rs(const std::string& revision, const std::string& image, const std::string& uid = "d-uid") {
  return {{"metadata",
           {{"name", "cart-" + revision},
            {"annotations", {{"deployment.kubernetes.io/revision", revision}, {"team", "shop-" + revision}}},
            {"ownerReferences", json::array({{{"uid", uid}, {"controller", true}, {"kind", "Deployment"}}})}}},
          {"spec",
           {{"template",
             {{"metadata", {{"labels", {{"app", "cart"}, {"pod-template-hash", "h" + revision}}}}},
              {"spec", {{"containers", json::array({{{"name", "cart"}, {"image", image}}})}}}}}}}};
}

json live(const std::string& image, const std::string& revision) {
  return {{"metadata",
           {{"name", "cart"},
            {"uid", "d-uid"},
            {"annotations",
             {{"deployment.kubernetes.io/revision", revision},
              {"kubectl.kubernetes.io/last-applied-configuration", "{}"},
              {"team", "current"}}}}},
          {"spec",
           {{"selector", {{"matchLabels", {{"app", "cart"}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "cart"}}}}},
              {"spec", {{"containers", json::array({{{"name", "cart"}, {"image", image}}})}}}}}}}};
}

}  // namespace

TEST_SUITE("actions/kubernetes/rollout") {
  TEST_CASE("the patch bodies are kubectl's") {
    CHECK(restart_patch("2026-01-01T00:00:00Z").dump() ==
          R"({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}})");
    CHECK(image_patch("cart", "registry.example/cart:3.2.0").dump() ==
          R"({"spec":{"template":{"spec":{"containers":[{"image":"registry.example/cart:3.2.0","name":"cart"}]}}}})");
    CHECK(scale_patch(5).dump() == R"({"spec":{"replicas":5}})");
  }

  TEST_CASE("image tags are validated like kubectl and registries do") {
    CHECK(valid_image_tag("3.2.0"));
    CHECK(valid_image_tag("v2.4.1-rc_1"));
    CHECK_FALSE(valid_image_tag("1.0;rm -rf /"));
    CHECK_FALSE(valid_image_tag("../x"));
    CHECK_FALSE(valid_image_tag(".hidden"));
    CHECK_FALSE(valid_image_tag(""));
    CHECK_FALSE(valid_image_tag(std::string(129, 'a')));
    CHECK_FALSE(valid_image_tag("a b"));
  }

  TEST_CASE("rollout status follows kubectl's order of checks") {
    CHECK(rollout_status(deployment(2, 1, 3, 3, 3, 3)).state == RolloutState::waiting);
    CHECK(rollout_status(deployment(2, 1, 3, 3, 3, 3)).message == "Waiting for deployment spec update to be observed...");
    CHECK(rollout_status(deployment(2, 2, 3, 1, 1, 3)).message ==
          "Waiting for deployment \"cart\" rollout to finish: 1 out of 3 new replicas have been updated...");
    CHECK(rollout_status(deployment(2, 2, 3, 3, 3, 4)).message ==
          "Waiting for deployment \"cart\" rollout to finish: 1 old replicas are pending termination...");
    CHECK(rollout_status(deployment(2, 2, 3, 3, 2, 3)).message ==
          "Waiting for deployment \"cart\" rollout to finish: 2 of 3 updated replicas are available...");
    const auto done = rollout_status(deployment(2, 2, 3, 3, 3, 3));
    CHECK(done.state == RolloutState::done);
    CHECK(done.message == "deployment \"cart\" successfully rolled out");

    json failed = deployment(2, 2, 3, 1, 0, 3);
    failed["status"]["conditions"] = json::array(
        {{{"type", "Progressing"}, {"reason", "ProgressDeadlineExceeded"}, {"message", "ReplicaSet timed out"}}});
    const auto f = rollout_status(failed);
    CHECK(f.state == RolloutState::failed);
    CHECK(f.failure == "ReplicaSet timed out");
  }

  TEST_CASE("undo without a revision takes the second-highest of the deployment's own ReplicaSets") {
    const json list = {{"items", json::array({rs("1", "cart:1"), rs("3", "cart:3"), rs("2", "cart:2"),
                                              rs("9", "other:9", "someone-else")})}};
    auto plan = plan_undo(live("cart:3", "3"), list, 0);
    REQUIRE(plan);
    CHECK(plan->to_revision == 2);
    CHECK_FALSE(plan->nothing_to_do);
    REQUIRE(plan->patch.size() == 2);
    CHECK(plan->patch[0]["op"] == "replace");
    CHECK(plan->patch[0]["path"] == "/spec/template");
    CHECK(plan->patch[0]["value"]["spec"]["containers"][0]["image"] == "cart:2");
    CHECK_FALSE(plan->patch[0]["value"]["metadata"]["labels"].contains("pod-template-hash"));
    CHECK(plan->patch[1]["path"] == "/metadata/annotations");
    const json annotations = plan->patch[1]["value"];
    CHECK(annotations["deployment.kubernetes.io/revision"] == "3");  // the Deployment's own
    CHECK(annotations["kubectl.kubernetes.io/last-applied-configuration"] == "{}");
    CHECK(annotations["team"] == "shop-2");  // the rest from the ReplicaSet
  }

  TEST_CASE("undo to a revision takes exactly it, missing revisions and history are answers") {
    const json list = {{"items", json::array({rs("1", "cart:1"), rs("2", "cart:2"), rs("3", "cart:3")})}};
    auto one = plan_undo(live("cart:3", "3"), list, 1);
    REQUIRE(one);
    CHECK(one->to_revision == 1);
    CHECK(one->patch[0]["value"]["spec"]["containers"][0]["image"] == "cart:1");

    auto same = plan_undo(live("cart:3", "3"), list, 3);
    REQUIRE(same);
    CHECK(same->nothing_to_do);
    CHECK(same->message.find("already matches revision 3") != std::string::npos);

    auto missing = plan_undo(live("cart:3", "3"), list, 7);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == opsgate::Errc::not_found);

    auto none = plan_undo(live("cart:1", "1"), json{{"items", json::array({rs("1", "cart:1")})}}, 0);
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "no rollout history found for deployment \"cart\"");

    json paused = live("cart:3", "3");
    paused["spec"]["paused"] = true;
    auto refused = plan_undo(paused, list, 0);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("paused") != std::string::npos);
  }

  TEST_CASE("Status errors show their message") {
    const std::string body =
        R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"deployments.apps \"x\" not found","reason":"NotFound","code":404})";
    CHECK(status_message(404, body) == "deployments.apps \"x\" not found");
    CHECK(status_reason(body) == "NotFound");
    CHECK(status_message(502, "bad gateway") == "HTTP 502: bad gateway");
    CHECK(status_reason("not json") == "");
  }

  TEST_CASE("the label selector is the deployment's matchLabels") {
    auto selector = label_selector(live("cart:3", "3"));
    REQUIRE(selector);
    CHECK(*selector == "app=cart");
  }
}
