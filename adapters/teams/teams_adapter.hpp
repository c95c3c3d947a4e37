#pragma once
// Microsoft Teams through the Bot Framework: Activities arrive on a webhook
// (every request's JWT checked), replies and Adaptive Cards go out through the
// connector's REST API. The one public header of adapters/teams.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "src/core/clock.hpp"
#include "src/core/config_node.hpp"
#include "src/core/secret.hpp"
#include "src/core/webhook_receiver.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::audit {
class ReplayStore;
}

namespace opsgate::adapters::teams {

// Immutable once parsed. See config/example.yaml (adapters.teams) for each key.
struct TeamsConfig {
  std::string app_id;               // the Azure Bot's Microsoft App ID: the JWT audience
  Secret app_password;              // its client secret, for the outbound token
  std::string tenant = "botframework.com";  // multi-tenant; a tenant id for a single-tenant bot
  std::string path = "/api/messages";
  std::string openid_metadata_url = "https://login.botframework.com/v1/.well-known/openidconfiguration";
  std::string issuer = "https://api.botframework.com";
  std::string token_url;            // default https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
  std::vector<std::string> service_hosts;    // serviceUrl host suffixes the token may go to
  std::vector<std::string> allowed_tenants;  // empty: any (a single-tenant bot defaults to its own)
  // Teams team or channel id → names vouched as "teams:group:<name>", which the policy can bind.
  std::map<std::string, std::vector<std::string>> channel_groups;
  std::chrono::milliseconds retry_base{500};  // connector backoff; tests shorten it
  std::chrono::milliseconds api_timeout{10000};  // per connector attempt; tests shorten it
};

// `node` is `adapters.teams`. Throws ConfigError naming file, line and key.
TeamsConfig parse_teams_config(const ConfigNode& node);

// The adapter plus its webhook. Owned by the daemon's components; send() from
// any strand; install_routes() once, before the HTTP server starts.
class TeamsAdapter : public WebhookAdapter {
 public:
  virtual int token_fetches() const = 0;  // for tests: outbound tokens fetched
  virtual int key_fetches() const = 0;    // for tests: JWKS fetches
};

// `replays` is the daemon's replay store (activity ids), opened before requests arrive.
std::unique_ptr<TeamsAdapter> make_teams_adapter(TeamsConfig config, boost::asio::any_io_executor executor,
                                                 net::HttpClient& http, const Clock& clock,
                                                 std::shared_ptr<audit::ReplayStore> replays);

}  // namespace opsgate::adapters::teams
