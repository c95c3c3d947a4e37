// adapters.slack: the config reader (the struct is in slack_adapter.hpp).
#include "adapters/slack/slack_adapter.hpp"

#include "src/net/outbound_url.hpp"

namespace opsgate::adapters::slack {

SlackConfig parse_slack_config(const ConfigNode& node) {
  SlackConfig c;
  c.enabled = node.boolean_or("enabled", true);
  c.mode = node.str_or("mode", "http");
  if (c.mode != "http" && c.mode != "socket") {
    node.fail("mode", "must be http (Slack posts to /slack/events, /slack/commands, /slack/interactions) or "
                      "socket (Socket Mode: opsgate connects out; needs app_token)");
  }
  // A disabled section is checked for its keys but needs no tokens.
  const bool need = c.enabled;
  if (auto s = node.optional_secret("bot_token")) {
    c.bot_token = *s;
  } else if (need) {
    node.fail("bot_token", "is required: the bot token (xoxb-…) from the app's OAuth & Permissions page");
  }
  if (!c.bot_token.empty() && c.bot_token.reveal().rfind("xoxb-", 0) != 0) {
    node.fail("bot_token", "must be the bot token (xoxb-…) from the app's OAuth & Permissions page");
  }
  if (auto s = node.optional_secret("signing_secret")) {
    c.signing_secret = *s;
  } else if (need && c.mode == "http") {
    node.fail("signing_secret", "is required in http mode (Basic Information → Signing Secret)");
  }
  if (auto s = node.optional_secret("app_token")) {
    c.app_token = *s;
  } else if (need && c.mode == "socket") {
    node.fail("app_token", "is required in socket mode: an app-level token (xapp-…) with connections:write "
                           "(Basic Information → App-Level Tokens)");
  }
  if (!c.app_token.empty() && c.app_token.reveal().rfind("xapp-", 0) != 0) {
    node.fail("app_token", "must be an app-level token (xapp-…) with the connections:write scope "
                           "(Basic Information → App-Level Tokens)");
  }
  c.api_base = node.str_or("api_base", c.api_base);
  net::require_outbound_url(node, "api_base", c.api_base, net::UrlSecrecy::sensitive);
  while (!c.api_base.empty() && c.api_base.back() == '/') {
    c.api_base.pop_back();
  }
  c.usergroups = node.strings_or("usergroups");
  c.usergroup_ttl = node.duration_or("usergroup_ttl", c.usergroup_ttl);
  c.usergroup_grace = node.duration_or("usergroup_grace", c.usergroup_grace);
  if (c.usergroup_grace < c.usergroup_ttl) {
    node.fail("usergroup_grace", "must be at least usergroup_ttl: it counts from the last successful listing");
  }
  c.user_ttl = node.duration_or("user_ttl", c.user_ttl);
  c.post_interval = std::chrono::milliseconds(node.integer_or("post_interval_ms", 1000, 0, 60000));
  c.dedup_window = node.duration_or("dedup_window", c.dedup_window);
  if (c.dedup_window < std::chrono::hours(1)) {
    node.fail("dedup_window", "must be at least 1h: Slack retries for up to 5 minutes and the issue asks an hour");
  }
  c.socket_idle_timeout = node.duration_or("socket_idle_timeout", c.socket_idle_timeout);
  c.max_body = static_cast<std::size_t>(node.integer_or("max_body", 256 * 1024, 1024, 16 * 1024 * 1024));
  node.finish();
  return c;
}

}  // namespace opsgate::adapters::slack
