#include "src/gates/azure.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "src/gates/gate_api.hpp"
#include "src/core/encoding.hpp"
#include "src/net/outbound_url.hpp"

namespace opsgate::gates {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// The job's AuthToken lives 48 h; the gate must end before it does.
constexpr std::int64_t kMaxGateS = 47 * 3600;

struct Hook {
  GateService& service;
  AzureConfig config;
};

// Header first, then the same-named body key; "" for an unresolved $(...).
std::string context(const net::HttpRequest& request, const json& body, const char* name) {
  std::string value(request.header_or_empty(name));
  if (value.empty() && body.is_object()) {
    for (const auto& [key, v] : body.items()) {
      if (net::iequals_ascii(key, name) && v.is_string()) {
        value = v.get<std::string>();
      }
    }
  }
  return value.rfind("$(", 0) == 0 ? std::string{} : value;
}

asio::awaitable<net::HttpResponse> on_check(std::shared_ptr<Hook> hook, net::HttpRequest request) {
  const AzureConfig& config = hook->config;
  if (!config.username.empty()) {
    const std::string expected = "Basic " + encoding::base64_encode(config.username + ":" + config.password.reveal());
    if (!crypto::constant_time_equal(request.header_or_empty("Authorization"), expected)) {
      spdlog::warn("azure: refused a check call from {}: Authorization does not match gates.azure.username/password",
                   request.remote_address);
      co_return net::HttpResponse::text(401, "unauthorized\n");
    }
  }
  const json body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
  const std::string plan_url = context(request, body, "PlanUrl");
  if (std::find(config.organizations.begin(), config.organizations.end(), plan_url) == config.organizations.end()) {
    spdlog::warn("azure: refused a check call from {}: PlanUrl '{}' is not in gates.azure.organizations",
                 request.remote_address, plan_url);
    co_return net::HttpResponse::text(403, "organization not allowed\n");
  }
  const std::string project = context(request, body, "ProjectId");
  const std::string hub = context(request, body, "HubName");
  const std::string plan = context(request, body, "PlanId");
  const std::string job = context(request, body, "JobId");
  const std::string task = context(request, body, "TaskInstanceId");
  const std::string token = context(request, body, "AuthToken");
  if (project.empty() || hub.empty() || plan.empty() || job.empty() || task.empty() || token.empty()) {
    co_return net::HttpResponse::text(
        400, "missing run context: the check must send PlanUrl, ProjectId, HubName, PlanId, JobId, TaskInstanceId "
             "and AuthToken headers (see the README's Azure Pipelines section)\n");
  }
  auto text = [&body](const char* key) {
    const auto it = body.is_object() ? body.find(key) : body.end();
    const std::string value = body.is_object() && it != body.end() && it->is_string() ? it->get<std::string>() : "";
    return value.rfind("$(", 0) == 0 ? std::string{} : value;
  };
  GateAsk ask;
  ask.client = config.client;
  ask.source = "azure";
  ask.dedup_key = "azure:" + plan + ":" + task;
  ask.request.target = text("target");
  ask.request.env = text("env");
  ask.request.version = text("version");
  ask.request.commit = text("sourceVersion");
  if (ask.request.version.empty()) {
    ask.request.version = ask.request.commit.size() > 12 ? ask.request.commit.substr(0, 12) : ask.request.commit;
  }
  const std::string build = context(request, body, "BuildId");
  ask.request.summary = "Azure Pipelines " + text("pipeline") + " (stage " + text("stage") + ", " +
                        text("sourceBranch") + ")";
  if (!build.empty()) {
    std::string base = plan_url;
    ask.request.run_url = base + project + "/_build/results?buildId=" + build;
  }
  ask.request.triggered_by = text("requestedForEmail").empty() ? text("requestedFor") : text("requestedForEmail");
  ask.require_known_trigger = false;
  ask.max_timeout_s = kMaxGateS;
  ask.callback_kind = "azure";
  ask.callback = json{{"plan_url", plan_url}, {"project", project}, {"hub", hub}, {"plan", plan},
                      {"job", job},           {"task", task},       {"token", token}};
  auto created = co_await hook->service.create(std::move(ask));
  if (!created) {
    // Azure does not retry a check call: say why, plainly, in the check's log.
    co_return api_error(400, "invalid_request", created.error().message, json::array({created.error().message}));
  }
  co_return net::HttpResponse::json(200, json{{"accepted", true}, {"gate", created->gate.id}});
}

class AzureNotifier final : public Notifier {
 public:
  AzureNotifier(AzureConfig config, net::HttpClient& http) : config_(std::move(config)), http_(http) {}
  std::string_view kind() const override { return "azure"; }
  std::chrono::seconds lifetime() const override { return std::chrono::hours(48); }

  asio::awaitable<DeliveryOutcome> deliver(Gate gate, json /*gate_json*/) override {
    const json& c = gate.callback;
    std::string base = c.value("plan_url", "");
    // Only to a configured organisation (checked at receipt; again here).
    if (std::find(config_.organizations.begin(), config_.organizations.end(), base) == config_.organizations.end()) {
      co_return DeliveryOutcome{DeliveryOutcome::Kind::terminal, "organization no longer in gates.azure.organizations", {}};
    }
    while (!base.empty() && base.back() == '/') base.pop_back();
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = base + "/" + c.value("project", "") + "/_apis/distributedtask/hubs/" + c.value("hub", "") +
                  "/plans/" + c.value("plan", "") + "/events?api-version=" + config_.api_version;
    request.headers = {{"Authorization", "Bearer " + c.value("token", "")}, {"Content-Type", "application/json"}};
    request.body = json{{"name", "TaskCompleted"},
                        {"taskId", c.value("task", "")},
                        {"jobId", c.value("job", "")},
                        {"result", gate.state == GateState::approved ? "succeeded" : "failed"}}
                       .dump();
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http_.send(std::move(request));
    if (answer && answer->status >= 300 && answer->status < 400) {
      // An unauthenticated call is redirected to sign-in: the token was refused.
      co_return DeliveryOutcome{DeliveryOutcome::Kind::terminal,
                                "HTTP " + std::to_string(answer->status) + ": Azure refused the job's AuthToken", {}};
    }
    co_return classify(answer);
  }

 private:
  AzureConfig config_;
  net::HttpClient& http_;
};

}  // namespace

AzureConfig parse_azure_config(const ConfigNode& node) {
  AzureConfig config;
  config.organizations = node.strings_or("organizations");
  if (config.organizations.empty()) {
    node.fail("organizations", "is required: the organisation URLs (System.CollectionUri, e.g. "
                               "https://dev.azure.com/fabrikam/) whose checks opsgate answers");
  }
  for (auto& org : config.organizations) {
    // Credentials go to the organisation: the one outbound URL rule (https, plain http only to loopback).
    net::require_outbound_url(node, "organizations", org, net::UrlSecrecy::sensitive);
    if (org.back() != '/') org += '/';
  }
  config.username = node.str_or("username", "");
  if (!config.username.empty()) {
    config.password = node.secret("password");
  }
  config.client = node.str_or("client", config.client);
  config.api_version = node.str_or("api_version", config.api_version);
  config.path = node.str_or("path", config.path);
  node.finish();
  return config;
}

void install_azure_webhook(net::HttpServer& server, GateService& service, const AzureConfig& config) {
  auto hook = std::make_shared<Hook>(Hook{service, config});
  server.route("POST", config.path, [hook](net::HttpRequest request) { return on_check(hook, std::move(request)); });
}

std::unique_ptr<Notifier> make_azure_notifier(const AzureConfig& config, net::HttpClient& http) {
  return std::make_unique<AzureNotifier>(config, http);
}

}  // namespace opsgate::gates
