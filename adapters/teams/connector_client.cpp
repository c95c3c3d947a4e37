#include "adapters/teams/connector_client.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "src/core/text.hpp"
#include "src/net/outbound_url.hpp"
#include "src/net/resend_rule.hpp"
#include "src/net/url_encoding.hpp"

namespace opsgate::adapters::teams {

namespace asio = boost::asio;

namespace {

std::string activities_url(std::string service_url, const std::string& conversation_id, const std::string& activity_id) {
  if (service_url.empty() || service_url.back() != '/') {
    service_url += '/';
  }
  std::string url = service_url + "v3/conversations/" + net::url_encode(conversation_id) + "/activities";
  if (!activity_id.empty()) {
    url += "/" + net::url_encode(activity_id);
  }
  return url;
}

}  // namespace


bool is_retryable_status(int status) { return status == 429 || status == 412 || status == 502 || status == 504; }

bool service_url_allowed(std::string_view url, const std::vector<std::string>& hosts) {
  // The bot's access token goes to this URL: the outbound URL rule applies.
  const auto parsed = net::check_outbound_url(url, net::UrlSecrecy::sensitive);
  if (!parsed || parsed->has_userinfo) {
    return false;  // userinfo could disguise the real host
  }
  const std::string host = text::to_lower(parsed->host);
  for (const auto& entry : hosts) {
    const std::string suffix = text::to_lower(entry.front() == '.' ? std::string_view(entry).substr(1) : std::string_view(entry));
    if (!parsed->encrypted && host != suffix) {
      continue;  // plain http only to a loopback host named exactly (tests)
    }
    if (host == suffix || (host.size() > suffix.size() && host.ends_with("." + suffix))) {
      return true;
    }
  }
  return false;
}

ConnectorClient::ConnectorClient(ConnectorSettings settings, net::HttpClient& http, const Clock& clock)
    : settings_(std::move(settings)), http_(http), clock_(clock) {}

bool ConnectorClient::trust_service_url(const std::string& service_url) {
  if (!service_url_allowed(service_url, settings_.service_hosts)) {
    return false;
  }
  std::lock_guard lock(mutex_);
  if (trusted_.size() < 1024) {  // a handful of regional endpoints in practice
    trusted_.insert(service_url);
  }
  return trusted_.count(service_url) > 0;
}

bool ConnectorClient::trusted(const std::string& service_url) const {
  std::lock_guard lock(mutex_);
  return trusted_.count(service_url) > 0;
}

int ConnectorClient::token_fetches() const {
  std::lock_guard lock(mutex_);
  return token_fetches_;
}

asio::awaitable<Result<std::string>> ConnectorClient::token() {
  {
    std::lock_guard lock(mutex_);
    if (!token_.empty() && clock_.now() + settings_.refresh_margin < token_expires_) {
      co_return token_;
    }
  }
  net::HttpClientRequest request;
  request.method = "POST";
  request.url = settings_.token_url;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = net::form_encode({{"grant_type", "client_credentials"},
                              {"client_id", settings_.app_id},
                              {"client_secret", settings_.app_password.reveal()},
                              {"scope", settings_.scope}});
  request.timeout = settings_.timeout;
  request.max_response_bytes = 64 * 1024;
  auto response = co_await http_.send(std::move(request));
  if (!response) {
    co_return fail(response.error().code, "token endpoint " + settings_.token_url + ": " + response.error().message);
  }
  const auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (response->status != 200 || doc.is_discarded() || !doc.is_object() || !doc.contains("access_token") ||
      !doc["access_token"].is_string()) {
    std::string why = "HTTP " + std::to_string(response->status);
    if (!doc.is_discarded() && doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
      why += " " + doc["error"].get<std::string>();  // e.g. invalid_client: check app_id and app_password
    }
    co_return fail(Errc::upstream, "token endpoint " + settings_.token_url + " refused: " + why);
  }
  std::int64_t expires_in = 3600;
  if (doc.contains("expires_in") && doc["expires_in"].is_number()) {
    expires_in = doc["expires_in"].get<std::int64_t>();
  }
  std::lock_guard lock(mutex_);
  token_ = doc["access_token"].get<std::string>();
  token_expires_ = clock_.now() + std::chrono::seconds(expires_in);
  ++token_fetches_;
  co_return token_;
}

asio::awaitable<Result<net::HttpClientResponse>> ConnectorClient::call(std::string method, std::string url, std::string body) {
  auto bearer = co_await token();
  if (!bearer) {
    co_return tl::unexpected(bearer.error());
  }
  // HttpClient retries 429 (after its Retry-After, at most retry_cap), 412,
  // 502 and 504 with net::Backoff. A POST that went out and got no answer may
  // have been posted: not sent again (src/net/resend_rule.hpp); a PUT of the
  // same activity may be.
  const net::Idempotent idempotent = method == "POST" ? net::Idempotent::no : net::Idempotent::yes;
  net::HttpClientRequest request;
  request.method = method;
  request.url = url;
  request.body = body;
  request.timeout = settings_.timeout;
  request.headers.emplace_back("Authorization", "Bearer " + *bearer);
  request.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  request.max_response_bytes = 256 * 1024;
  request.max_retries = settings_.max_retries;
  request.idempotent = idempotent;
  request.retry_status = is_retryable_status;
  request.retry_base = settings_.retry_base;
  request.retry_cap = settings_.retry_cap;
  request.max_retry_after = settings_.retry_cap;
  auto response = co_await http_.send(std::move(request));
  if (!response && net::outcome_unknown(response.error()) && idempotent == net::Idempotent::no) {
    spdlog::warn(
        "teams: {} {} was sent but not answered ({}); not sending it again: the message may or may not "
        "have been posted",
        method, url, response.error().message);
    co_return fail(response.error().code, method + " " + url + ": " + response.error().message +
                                              "; not sent again, the message may or may not have been posted");
  }
  co_return response;
}

asio::awaitable<Result<std::string>> ConnectorClient::send(std::string service_url, std::string conversation_id,
                                                           std::string reply_to_id, nlohmann::json activity) {
  if (!trusted(service_url)) {
    co_return fail(Errc::denied, "serviceUrl " + service_url + " did not arrive in a validated activity (or is not allowed)");
  }
  const std::string url = activities_url(service_url, conversation_id, reply_to_id);
  const std::string body = activity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string method = "POST";
  auto response = co_await call(method, url, body);
  if (!response) {
    co_return tl::unexpected(response.error());
  }
  if (response->status != 200 && response->status != 201) {
    co_return fail(Errc::upstream, "the connector answered " + std::to_string(response->status) + " to POST " + url);
  }
  const auto doc = nlohmann::json::parse(response->body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) {
    co_return std::string{};
  }
  co_return doc["id"].get<std::string>();
}

asio::awaitable<Result<void>> ConnectorClient::update(std::string service_url, std::string conversation_id,
                                                      std::string activity_id, nlohmann::json activity) {
  if (!trusted(service_url)) {
    co_return fail(Errc::denied, "serviceUrl " + service_url + " did not arrive in a validated activity (or is not allowed)");
  }
  const std::string url = activities_url(service_url, conversation_id, activity_id);
  const std::string body = activity.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string method = "PUT";
  auto response = co_await call(method, url, body);
  if (!response) {
    co_return tl::unexpected(response.error());
  }
  if (response->status != 200 && response->status != 201) {
    co_return fail(Errc::upstream, "the connector answered " + std::to_string(response->status) + " to PUT " + url);
  }
  co_return Result<void>{};
}

}  // namespace opsgate::adapters::teams
