#pragma once
// GitHub Actions custom deployment protection rules (specs/cicd-gates.md §1),
// as a GitHub App: POST /webhooks/github takes the verified
// `deployment_protection_rule` webhook (X-Hub-Signature-256), opens a gate
// for the repository's target and the environment, and the "github" notifier
// reports the decision: an RS256 app JWT buys an installation token (cached
// until 5 minutes before it expires), which posts the review to the run.
//
//   gates:
//     github:
//       webhook_secret: {env: OPSGATE_GITHUB_WEBHOOK_SECRET}
//       app_id: "123456"                  # or client_id: Iv23li... (the JWT's iss)
//       private_key: {file: /etc/opsgate/github-app.pem}
//       api_base: https://api.github.com  # GHES: https://HOST/api/v3
//       client: github                    # requester ci:github in the policy
//       repositories: {acme/shop: checkout}    # repository -> target
//       environments: {production: prod}       # GitHub environment -> env (default: same name or synonym)

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/core/secret.hpp"
#include "src/gates/gate_service.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::gates {

struct GithubConfig {
  Secret webhook_secret;
  std::string issuer;  // client_id, else app_id
  Secret private_key;  // PEM
  std::string api_base = "https://api.github.com";
  std::string path = "/webhooks/github";
  std::string client = "github";
  std::map<std::string, std::string> repositories;  // full_name -> target
  std::map<std::string, std::string> environments;  // GitHub environment -> inventory env
};

GithubConfig parse_github_config(const ConfigNode& node, const Inventory& inventory);

// "sha256=<hex>" of the body under the secret, compared in constant time.
bool github_signature_ok(std::string_view secret, std::string_view raw_body, std::string_view header);

// An RS256 JWT for the app: iat = now - 60 s, exp = now + 540 s, iss. Errc::invalid_input for a bad key.
Result<std::string> github_app_jwt(const std::string& private_key_pem, const std::string& issuer, std::int64_t now_s);

void install_github_webhook(net::HttpServer& server, GateService& service, const GithubConfig& config,
                            std::shared_ptr<const Inventory> inventory);
std::unique_ptr<Notifier> make_github_notifier(const GithubConfig& config, net::HttpClient& http, const Clock& clock);

}  // namespace opsgate::gates
