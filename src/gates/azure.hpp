#pragma once
// Azure Pipelines "Invoke REST API" check in callback mode (specs/cicd-gates.md
// §2): POST /webhooks/azure-devops carries the run context in headers (body
// keys as a fallback), answered at once; the gate's decision goes back as the
// `TaskCompleted` event to the plan's events endpoint with the job's
// AuthToken. Only organisations listed in config are called back (the token
// never goes anywhere else).
//
//   gates:
//     azure:
//       organizations: ["https://dev.azure.com/fabrikam/"]   # PlanUrl must be one of these, exactly
//       username: opsgate                   # optional: the Generic service connection's user ...
//       password: {env: OPSGATE_AZURE_PASSWORD}   # ... and password (Basic), compared in constant time
//       client: azure                       # the policy sees ci:azure
//       api_version: 2.0-preview.1
//       path: /webhooks/azure-devops

#include <memory>
#include <string>
#include <vector>

#include "src/core/config_node.hpp"
#include "src/core/secret.hpp"
#include "src/gates/gate_service.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::gates {

struct AzureConfig {
  std::vector<std::string> organizations;  // PlanUrl values, each ending in '/'
  std::string username;
  Secret password;
  std::string client = "azure";
  std::string api_version = "2.0-preview.1";
  std::string path = "/webhooks/azure-devops";
};

AzureConfig parse_azure_config(const ConfigNode& node);

void install_azure_webhook(net::HttpServer& server, GateService& service, const AzureConfig& config);
std::unique_ptr<Notifier> make_azure_notifier(const AzureConfig& config, net::HttpClient& http);

}  // namespace opsgate::gates
