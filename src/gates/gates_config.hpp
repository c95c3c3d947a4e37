#pragma once
// The `gates:` section, validated once at start-up into an immutable value.
// config/example.yaml documents every key.
//
//   gates:
//     public_url: https://opsgate.example   # gate URLs in answers and chat
//     channels:                             # where a gate is posted (<platform>:<channel>)
//       default: slack:C0OPS
//       teams: {shop: "slack:C0SHOP"}
//       targets: {checkout: "slack:C0CHECKOUT"}
//     identities: {alice: "slack:T0AAA:U0ALICE"}   # CI user name -> principal
//     show_metrics: true                    # error rate and p99 latency in the card (needs Prometheus)
//     clients:
//       jenkins:
//         token: {env: OPSGATE_JENKINS_TOKEN}
//         targets: [checkout, cart]         # or ["*"]
//         envs: [prod, staging]
//         callback: {url: https://ci.example/hook, secret: {env: ...}}   # optional

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/core/channel_routes.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/core/secret.hpp"
#include "src/core/crypto.hpp"

namespace opsgate::gates {

struct GithubConfig;  // github.hpp
struct AzureConfig;   // azure.hpp
struct GitlabConfig;  // gitlab.hpp

struct GateClient {
  std::string name;
  std::string token_sha256;  // hex SHA-256 of the bearer token (the token itself is not kept)
  std::vector<std::string> targets;  // inventory names, or "*"
  std::vector<std::string> envs;     // inventory names, or "*"
  std::string callback_url;          // empty: the client long-polls
  Secret callback_secret;            // signs the callback body (X-Opsgate-Signature-256)
  bool may_gate(const std::string& target, const std::string& env) const;
};

struct GatesConfig {
  std::string public_url;  // without trailing '/'
  ChannelRoutes channels;
  std::map<std::string, std::string> identities;  // CI user name -> principal id
  std::vector<GateClient> clients;
  bool show_metrics = true;
  std::chrono::seconds tick{1};               // how often the worker looks at gates and the outbox
  std::chrono::seconds context_timeout{5};    // rollout.status and metrics for the card
  std::chrono::seconds max_backoff{300};
  std::chrono::seconds alert_after{600};      // failing callbacks are reported in the thread after this
  std::shared_ptr<const GithubConfig> github;  // gates.github, when configured
  std::shared_ptr<const AzureConfig> azure;    // gates.azure, when configured
  std::shared_ptr<const GitlabConfig> gitlab;  // gates.gitlab, when configured

  const GateClient* client_by_token(const std::string& token) const;
  const GateClient* client(const std::string& name) const;
};

// Throws ConfigError (file:line: key) on the first mistake: an unknown key, a
// client without token or scope, a target or env the inventory does not know,
// a channel not written <platform>:<channel>.
GatesConfig parse_gates_config(const ConfigNode& node, const Inventory& inventory);

// A CI platform's names mapped to the inventory's, as GitHub and GitLab write
// them: `{acme/shop: checkout}` (each value a target) and `{production: prod}`
// (each value an environment). A value the inventory does not know fails at
// its line; the result holds the inventory's own spelling.
std::map<std::string, std::string> read_platform_targets(const ConfigNode& map, const Inventory& inventory);
std::map<std::string, std::string> read_platform_environments(const ConfigNode& map, const Inventory& inventory);

}  // namespace opsgate::gates
