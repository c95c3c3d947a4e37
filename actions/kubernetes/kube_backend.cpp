#include "actions/kubernetes/kube_backend.hpp"

#include "actions/kubernetes/kube_rollout.hpp"

namespace opsgate::actions::kubernetes {

namespace asio = boost::asio;
using nlohmann::json;

std::int64_t at_or(const json& object, const char* pointer, std::int64_t fallback) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return fallback;
  }
  const json& v = object.at(ptr);
  return v.is_number_integer() ? v.get<std::int64_t>() : fallback;
}

bool at_or(const json& object, const char* pointer, bool fallback) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return fallback;
  }
  const json& v = object.at(ptr);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

std::string string_at_or(const json& object, const char* pointer) {
  const json::json_pointer ptr(pointer);
  if (!object.contains(ptr)) {
    return "";
  }
  const json& v = object.at(ptr);
  return v.is_string() ? v.get<std::string>() : std::string{};
}

std::string dump(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string write_query(bool dry_run) { return dry_run ? "?dryRun=All&fieldManager=opsgate" : "?fieldManager=opsgate"; }

KubeCall call(std::string verb, std::string resource, const Place& p) {
  return KubeCall{std::move(verb), std::move(resource), p.namespace_name};
}

asio::awaitable<Result<json>> list_replica_sets(Place p, json live) {
  auto selector = label_selector(live);
  if (!selector) {
    co_return tl::unexpected(selector.error());
  }
  const std::string list_path = "/apis/apps/v1/namespaces/" + net::url_encode(p.namespace_name) +
                                "/replicasets?labelSelector=" + net::url_encode(*selector);
  const KubeCall list_call = call("list", "replicasets", p);
  auto sets = co_await p.client->send("GET", list_path, "", "", list_call);
  co_return sets;
}

asio::awaitable<NextStep> next_step(Place p, json live) {
  NextStep next;
  const std::string resume = "resume the rollout first: `kubectl rollout resume deployment/" + p.deployment + " -n " +
                             p.namespace_name + "`";
  if (at_or(live, "/spec/paused", false)) {
    next.instead = p.label() + " is paused; " + resume;
    co_return next;
  }
  auto sets = co_await list_replica_sets(p, live);
  if (!sets) {
    next.instead = "could not read the rollout history (" + sets.error().message + "); check `!status " + p.target +
                   " " + p.env + "`";
    co_return next;
  }
  const auto plan = plan_undo(live, *sets, 0);
  if (!plan) {
    next.instead = plan.error().message + "; there is nothing to roll back to, so fix forward with `!deploy " +
                   p.target + " <version> " + p.env + "`";
    co_return next;
  }
  if (plan->nothing_to_do) {
    next.instead = "the previous revision has the same pod template, so a rollback would change nothing; fix forward "
                   "with `!deploy " + p.target + " <version> " + p.env + "`";
    co_return next;
  }
  next.rollback = Suggestion{"Roll back " + p.target, "!rollback " + p.target + " " + p.env};
  co_return next;
}

asio::awaitable<Result<json>> get_deployment(Place p) {
  const std::string path = p.deployment_path();
  const KubeCall what = call("get", "deployments", p);
  auto got = co_await p.client->send("GET", path, "", "", what);
  co_return got;
}

asio::awaitable<Result<json>> patch_deployment(Place p, std::string content_type, json body, bool dry_run) {
  const std::string path = p.deployment_path() + write_query(dry_run);
  const std::string text = dump(body);
  const KubeCall what = call("patch", "deployments", p);
  auto patched = co_await p.client->send("PATCH", path, content_type, text, what);
  co_return patched;
}

json fingerprint_base(const std::string& action, const Place& p) {
  return {{"action", action}, {"namespace", p.namespace_name}, {"deployment", p.deployment}};
}

}  // namespace opsgate::actions::kubernetes
