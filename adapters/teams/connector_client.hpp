#pragma once
// Outbound calls to the Bot Framework connector: a client-credentials token
// cached until shortly before it expires, and activities posted, replied and
// updated under {serviceUrl}v3/conversations/. The token only ever goes to a
// serviceUrl that arrived in a validated activity and matches the host
// allow-list. Owned by the Teams adapter; any strand (a mutex guards state).

#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/clock.hpp"
#include "src/core/error.hpp"
#include "src/core/secret.hpp"
#include "src/net/http_client.hpp"
#include "src/net/url_encoding.hpp"

namespace opsgate::adapters::teams {

// Host suffixes Microsoft serves the connector from.
inline const std::vector<std::string> kDefaultServiceHosts = {"botframework.com", "smba.trafficmanager.net",
                                                              "teams.microsoft.com", "botframework.us",
                                                              "botframework.azure.us", "teams.microsoft.us"};

struct ConnectorSettings {
  std::string app_id;
  Secret app_password;
  std::string token_url;  // https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
  std::string scope = "https://api.botframework.com/.default";
  std::vector<std::string> service_hosts = kDefaultServiceHosts;
  std::chrono::seconds refresh_margin{300};      // renew the token this long before it expires
  int max_retries = 3;                           // on 429, 412, 502, 504 and failures to connect (a POST
                                                 // that timed out after it was sent is not retried)
  std::chrono::milliseconds retry_base{500};     // doubled each time, with jitter
  std::chrono::milliseconds retry_cap{10000};    // also the most a Retry-After is honoured
  std::chrono::milliseconds timeout{10000};      // per attempt
};

// True when `url` is https (or http to a loopback host listed explicitly, for
// tests) and its host equals or ends with ".<suffix>" of an allowed entry.
bool service_url_allowed(std::string_view url, const std::vector<std::string>& hosts);

// Conversation ids hold : ; @ — they are percent-encoded with net::url_encode
// (the name is kept for the test stand-ins that build the same paths).
inline std::string percent_encode(std::string_view text) { return net::url_encode(text); }

// 429, 412, 502, 504: retried with backoff.
bool is_retryable_status(int status);

class ConnectorClient {
 public:
  ConnectorClient(ConnectorSettings settings, net::HttpClient& http, const Clock& clock);

  // Remembers a serviceUrl from a validated activity. False (and not
  // remembered) when the allow-list refuses it.
  bool trust_service_url(const std::string& service_url);
  bool trusted(const std::string& service_url) const;

  // POST .../activities (reply_to_id empty) or .../activities/{reply_to_id}; returns the new id.
  boost::asio::awaitable<Result<std::string>> send(std::string service_url, std::string conversation_id,
                                                   std::string reply_to_id, nlohmann::json activity);
  // PUT .../activities/{activity_id}.
  boost::asio::awaitable<Result<void>> update(std::string service_url, std::string conversation_id,
                                              std::string activity_id, nlohmann::json activity);

  int token_fetches() const;

 private:
  boost::asio::awaitable<Result<std::string>> token();
  boost::asio::awaitable<Result<net::HttpClientResponse>> call(std::string method, std::string url, std::string body);

  ConnectorSettings settings_;
  net::HttpClient& http_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::set<std::string> trusted_;
  std::string token_;
  std::chrono::system_clock::time_point token_expires_{};
  int token_fetches_ = 0;
};

}  // namespace opsgate::adapters::teams
