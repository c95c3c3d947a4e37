#pragma once
// The smallest `opsgate serve` config with a Slack adapter over HTTP (Events
// API) and one target, for tests about something else (storage, libraries):
// a free loopback port, posts without pacing.

#include <string>

namespace opsgate::test {

// `storage` is the body of the storage section, indented two spaces, one key
// a line ("  path: /tmp/x.db\n").
inline std::string minimal_slack_http_config(const std::string& storage, const std::string& api_base,
                                             const std::string& signing_secret,
                                             const std::string& bot_token = "xoxb-e2e-bot") {
  return "storage:\n" + storage +
         "server:\n"
         "  listen: 127.0.0.1:0\n"
         "default_env: prod\n"
         "environments:\n"
         "  prod: {}\n"
         "targets:\n"
         "  cart: {team: shop}\n"
         "adapters:\n"
         "  slack:\n"
         "    mode: http\n"
         "    bot_token: " + bot_token + "\n"
         "    signing_secret: " + signing_secret + "\n"
         "    api_base: " + api_base + "\n"
         "    post_interval_ms: 0\n";
}

}  // namespace opsgate::test
