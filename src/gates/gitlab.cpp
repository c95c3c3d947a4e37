#include "src/gates/gitlab.hpp"

#include <spdlog/spdlog.h>

#include "src/gates/gate_api.hpp"
#include "src/gates/gates_config.hpp"

namespace opsgate::gates {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

std::string text_of(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return {};
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return {};
}

struct Hook {
  GateService& service;
  GitlabConfig config;
  std::shared_ptr<const Inventory> inventory;
};

asio::awaitable<net::HttpResponse> on_hook(std::shared_ptr<Hook> hook, net::HttpRequest request) {
  if (!crypto::constant_time_equal(request.header_or_empty("X-Gitlab-Token"), hook->config.webhook_token.reveal())) {
    spdlog::warn("gitlab: refused a webhook from {}: X-Gitlab-Token does not match gates.gitlab.webhook_token",
                 request.remote_address);
    co_return net::HttpResponse::text(401, "bad token\n");
  }
  // Everything else gets 200: GitLab disables webhooks that keep failing.
  if (request.header_or_empty("X-Gitlab-Event") != "Deployment Hook") {
    co_return net::HttpResponse::text(200, "ignored: not a Deployment Hook\n");
  }
  const json body = json::parse(request.body, nullptr, false);
  if (text_of(body, "object_kind") != "deployment" || text_of(body, "status") != "blocked") {
    co_return net::HttpResponse::text(200, "ignored: not a blocked deployment\n");
  }
  const json project = body.value("project", json::object());
  const std::string path = text_of(project, "path_with_namespace");
  const std::string project_id = text_of(project, "id");
  const std::string deployment = text_of(body, "deployment_id");
  const std::string job = text_of(body, "deployable_id");
  const std::string environment = text_of(body, "environment");
  const auto target = hook->config.projects.find(path);
  std::string env;
  if (const auto mapped = hook->config.environments.find(environment); mapped != hook->config.environments.end()) {
    env = mapped->second;
  } else if (const Environment* e = hook->inventory->find_env(environment)) {
    env = e->name;
  }
  if (project_id.empty() || deployment.empty() || target == hook->config.projects.end() || env.empty()) {
    spdlog::warn("gitlab: deployment {} of {} in {}: project or environment not mapped (gates.gitlab.projects, "
                 "environments); no gate",
                 deployment, path, environment);
    co_return net::HttpResponse::text(200, "ignored: project or environment not mapped\n");
  }
  GateAsk ask;
  ask.client = hook->config.client;
  ask.source = "gitlab";
  ask.dedup_key = "gitlab:" + project_id + ":" + deployment;
  ask.request.target = target->second;
  ask.request.env = env;
  ask.request.version = text_of(body, "short_sha").empty() ? text_of(body, "ref") : text_of(body, "short_sha");
  ask.request.commit = text_of(body, "short_sha");
  ask.request.change_url = text_of(body, "commit_url");
  ask.request.run_url = text_of(body, "deployable_url");
  ask.request.summary = "GitLab " + path + ", " + text_of(body, "ref") + ": " + text_of(body, "commit_title");
  ask.request.triggered_by = text_of(body.value("user", json::object()), "username");
  ask.require_known_trigger = false;
  ask.callback_kind = "gitlab";
  ask.callback = json{{"project_id", project_id}, {"deployment_id", deployment}, {"job_id", job}};
  auto created = co_await hook->service.create(std::move(ask));
  if (!created) {
    spdlog::warn("gitlab: deployment {}: no gate: {}", deployment, created.error().message);
    co_return net::HttpResponse::json(200, json{{"accepted", false}, {"reason", created.error().message}});
  }
  co_return net::HttpResponse::json(200, json{{"accepted", true}, {"gate", created->gate.id}});
}

class GitlabNotifier final : public Notifier {
 public:
  GitlabNotifier(GitlabConfig config, net::HttpClient& http) : config_(std::move(config)), http_(http) {}
  std::string_view kind() const override { return "gitlab"; }

  asio::awaitable<DeliveryOutcome> deliver(Gate gate, json /*gate_json*/) override {
    const std::string project = gate.callback.value("project_id", "");
    const std::string deployment = gate.callback.value("deployment_id", "");
    const bool approve = gate.state == GateState::approved;
    json body = {{"status", approve ? "approved" : "rejected"}, {"comment", gate.comment}};
    if (!config_.represented_as.empty()) {
      body["represented_as"] = config_.represented_as;
    }
    auto answer = co_await call("POST", "/projects/" + project + "/deployments/" + deployment + "/approval",
                                body.dump(-1, ' ', false, json::error_handler_t::replace));
    DeliveryOutcome outcome = classify(answer);
    if (answer && answer->status == 400 && answer->body.find("not waiting for approvals") != std::string::npos) {
      // A retry after an ambiguous failure: read back whether ours landed.
      auto state = co_await call("GET", "/projects/" + project + "/deployments/" + deployment, "");
      const json read = state && state->status == 200 ? json::parse(state->body, nullptr, false) : json();
      const std::string now = read.is_object() ? read.value("status", "") : "";
      if (now.empty() || now == "blocked") {
        co_return outcome;
      }
      outcome = DeliveryOutcome{DeliveryOutcome::Kind::done, "deployment is " + now + " already", {}};
    }
    if (outcome.kind != DeliveryOutcome::Kind::done || !approve || !config_.play_job) {
      co_return outcome;
    }
    const std::string job = gate.callback.value("job_id", "");
    auto played = co_await call("POST", "/projects/" + project + "/jobs/" + job + "/play", "");
    if (played && played->status == 400) {
      // Not manual: the legacy approval count already queued it.
      co_return DeliveryOutcome{DeliveryOutcome::Kind::done, outcome.detail + "; job " + job + " already queued", {}};
    }
    DeliveryOutcome play = classify(played);
    if (play.kind == DeliveryOutcome::Kind::done) {
      play.detail = outcome.detail + "; job " + job + " played";
    }
    co_return play;
  }

 private:
  asio::awaitable<Result<net::HttpClientResponse>> call(std::string method, std::string path, std::string body) {
    net::HttpClientRequest request;
    request.method = std::move(method);
    request.url = config_.api_base + path;
    request.headers = {{"PRIVATE-TOKEN", config_.bot_token.reveal()}, {"Content-Type", "application/json"}};
    request.body = std::move(body);
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http_.send(std::move(request));
    co_return answer;
  }

  GitlabConfig config_;
  net::HttpClient& http_;
};

}  // namespace

GitlabConfig parse_gitlab_config(const ConfigNode& node, const Inventory& inventory) {
  GitlabConfig config;
  config.webhook_token = node.secret("webhook_token");
  if (config.webhook_token.reveal().size() < 16) {
    node.fail("webhook_token", "is shorter than 16 characters; use a long random secret token");
  }
  config.api_base = node.str("api_base");
  while (!config.api_base.empty() && config.api_base.back() == '/') config.api_base.pop_back();
  if (config.api_base.size() < 7 || config.api_base.substr(config.api_base.size() - 7) != "/api/v4") {
    node.fail("api_base", "expected the API root, ending in /api/v4 (e.g. https://gitlab.com/api/v4)");
  }
  config.bot_token = node.secret("bot_token");
  config.client = node.str_or("client", config.client);
  config.represented_as = node.str_or("represented_as", "");
  config.play_job = node.boolean_or("play_job", true);
  config.path = node.str_or("path", config.path);
  config.projects = read_platform_targets(node.child("projects"), inventory);
  if (const auto envs = node.optional_child("environments")) {
    config.environments = read_platform_environments(*envs, inventory);
  }
  node.finish();
  return config;
}

void install_gitlab_webhook(net::HttpServer& server, GateService& service, const GitlabConfig& config,
                            std::shared_ptr<const Inventory> inventory) {
  auto hook = std::make_shared<Hook>(Hook{service, config, std::move(inventory)});
  server.route("POST", config.path, [hook](net::HttpRequest request) { return on_hook(hook, std::move(request)); });
}

std::unique_ptr<Notifier> make_gitlab_notifier(const GitlabConfig& config, net::HttpClient& http) {
  return std::make_unique<GitlabNotifier>(config, http);
}

}  // namespace opsgate::gates
