#pragma once
// Slack as a chat platform: Events API, slash commands and buttons over HTTP
// (signed requests on the daemon's server) or Socket Mode (a WebSocket the
// adapter opens), replies through the Web API in the request's thread.
// Wire format: ../shared/specs/slack.md.

#include <chrono>
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

namespace opsgate::adapters::slack {

struct SlackConfig {
  bool enabled = true;
  std::string mode = "http";  // "http": Slack posts to /slack/*; "socket": Socket Mode
  Secret bot_token;           // xoxb-…: the Web API
  Secret signing_secret;      // HTTP mode: verifies every request
  Secret app_token;           // xapp-…: Socket Mode (scope connections:write)
  std::string api_base = "https://slack.com/api";
  // Slack user groups (ids, S…) whose members opsgate looks up; a member gets
  // the platform group "slack:usergroup:<id>" (map it in the policy with platform_groups).
  std::vector<std::string> usergroups;
  std::chrono::seconds usergroup_ttl{300};
  // When Slack cannot list a group, its last list is used for this long after
  // it was fetched; then nobody counts as a member (fail closed).
  std::chrono::seconds usergroup_grace{600};
  std::chrono::seconds user_ttl{3600};
  std::chrono::milliseconds post_interval{1000};  // per channel
  std::chrono::milliseconds api_timeout{10000};   // per Web API attempt; tests shorten it
  std::chrono::seconds dedup_window{3600};        // event_id (and signed-body digests) kept at least this long
  std::chrono::seconds socket_idle_timeout{30};   // Socket Mode watchdog (ping, then give up)
  std::size_t max_body = 256 * 1024;              // larger requests get 413
};

// `node` is `adapters.slack`; throws ConfigError naming file:line: key.
SlackConfig parse_slack_config(const ConfigNode& node);

struct SlackServices {
  boost::asio::any_io_executor executor;
  net::HttpClient& http;
  std::shared_ptr<const Clock> clock;
  // The daemon's one replay store (event_id, signed-body digests); opened by the daemon.
  std::shared_ptr<audit::ReplayStore> replays;
};

// An Adapter that also serves Slack's webhooks. Owned by the daemon; all
// calls on the daemon's io_context.
// install_routes(): in HTTP mode POST /slack/events, /slack/commands, /slack/interactions.
class SlackAdapter : public WebhookAdapter {};

std::unique_ptr<SlackAdapter> make_slack_adapter(SlackConfig config, SlackServices services);

}  // namespace opsgate::adapters::slack
