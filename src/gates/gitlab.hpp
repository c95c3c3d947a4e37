#pragma once
// GitLab protected-environment deployment approvals (specs/cicd-gates.md §3):
// POST /webhooks/gitlab takes the Deployment Hook (X-Gitlab-Token) and opens
// a gate for each `blocked` deployment; the "gitlab" notifier approves or
// rejects it through the approval API with the bot's token and, when
// approved, plays the job that approval rules leave `manual`.
//
//   gates:
//     gitlab:
//       webhook_token: {env: OPSGATE_GITLAB_WEBHOOK_TOKEN}   # the webhook's Secret token
//       api_base: https://gitlab.example.com/api/v4
//       bot_token: {env: OPSGATE_GITLAB_BOT_TOKEN}            # scope api; an eligible approver
//       client: gitlab                     # the policy sees ci:gitlab
//       projects: {acme/shop: checkout}    # path_with_namespace -> target
//       environments: {production: prod}  # GitLab environment -> env (default: same name or synonym)
//       represented_as: ""                 # optional: the rule's user, group or role
//       play_job: true                     # play the deploy job after approving
//       path: /webhooks/gitlab

#include <map>
#include <memory>
#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/core/secret.hpp"
#include "src/gates/gate_service.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::gates {

struct GitlabConfig {
  Secret webhook_token;
  std::string api_base;
  Secret bot_token;
  std::string client = "gitlab";
  std::map<std::string, std::string> projects;      // path_with_namespace -> target
  std::map<std::string, std::string> environments;  // GitLab environment -> inventory env
  std::string represented_as;
  bool play_job = true;
  std::string path = "/webhooks/gitlab";
};

GitlabConfig parse_gitlab_config(const ConfigNode& node, const Inventory& inventory);

void install_gitlab_webhook(net::HttpServer& server, GateService& service, const GitlabConfig& config,
                            std::shared_ptr<const Inventory> inventory);
std::unique_ptr<Notifier> make_gitlab_notifier(const GitlabConfig& config, net::HttpClient& http);

}  // namespace opsgate::gates
