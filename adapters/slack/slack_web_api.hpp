#pragma once
// Slack's Web API on the shared HttpClient: JSON or form POSTs with the bot
// token, 429 + Retry-After honoured, 5xx and failures to connect retried with
// backoff (bounded); a post that timed out after it was sent is not sent again
// (net::may_resend, src/net/resend_rule.hpp); and about one message per second per channel for
// chat.postMessage (a per-channel queue: later posts wait their turn).
// Owned by the Slack adapter; called from the daemon's io_context thread.

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/error.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::adapters::slack {

struct WebApiOptions {
  std::string api_base = "https://slack.com/api";
  std::string token;                                 // xoxb-… (or xapp-… for apps.connections.open)
  std::chrono::milliseconds post_interval{1000};     // per channel
  int post_burst = 3;                                // posts a channel may get at once before pacing starts
  int max_attempts = 4;                              // 429 and 5xx retries included
  std::chrono::seconds max_retry_after{60};          // a longer Retry-After fails the call
  std::chrono::milliseconds timeout{10000};          // per attempt
  bool verify_tls = true;
};

class WebApi {
 public:
  WebApi(net::HttpClient& http, WebApiOptions options);

  // POST <api_base>/<method> with a JSON body; the answer's JSON when ok:true,
  // else Errc::upstream "<method>: <error>" (e.g. "chat.update: message_not_found").
  boost::asio::awaitable<Result<nlohmann::json>> call(std::string method, nlohmann::json args);
  // Same with a form body (users.info and usergroups.users.list take forms).
  boost::asio::awaitable<Result<nlohmann::json>> call_form(std::string method,
                                                           std::vector<std::pair<std::string, std::string>> args);
  // chat.postMessage paced per channel.
  boost::asio::awaitable<Result<nlohmann::json>> post_message(nlohmann::json args);

  const WebApiOptions& options() const { return options_; }

 private:
  boost::asio::awaitable<Result<nlohmann::json>> send(std::string method, std::string content_type, std::string body);

  net::HttpClient& http_;
  WebApiOptions options_;
  std::map<std::string, std::chrono::steady_clock::time_point> next_slot_;  // per channel
};

}  // namespace opsgate::adapters::slack
