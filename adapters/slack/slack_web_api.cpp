#include "adapters/slack/slack_web_api.hpp"

#include <algorithm>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "adapters/slack/slack_inbound.hpp"
#include "src/net/resend_rule.hpp"
#include "src/net/url_encoding.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

// Slack methods that create something each time they are called: never sent
// again once a request may have reached Slack (see net::may_resend).
bool creates_something(std::string_view method) {
  return method == "chat.postMessage" || method == "chat.postEphemeral" || method == "chat.meMessage" ||
         method == "chat.scheduleMessage" || method.starts_with("files.") || method == "conversations.create";
}

// The channel a call addresses, for messages: "?" when the body names none.
std::string channel_of(std::string_view content_type, const std::string& body) {
  if (content_type.starts_with("application/json")) {
    const json parsed = json::parse(body, nullptr, false);
    if (parsed.is_object() && parsed.contains("channel") && parsed["channel"].is_string()) {
      return parsed["channel"].get<std::string>();
    }
    return "?";
  }
  auto form = net::decode_form(body);
  const auto found = form.find("channel");
  return found == form.end() || found->second.empty() ? "?" : found->second;
}

}  // namespace

WebApi::WebApi(net::HttpClient& http, WebApiOptions options) : http_(http), options_(std::move(options)) {}

asio::awaitable<Result<json>> WebApi::call(std::string method, json args) {
  std::string body = args.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string content_type = "application/json; charset=utf-8";
  auto result = co_await send(std::move(method), std::move(content_type), std::move(body));
  co_return result;
}

asio::awaitable<Result<json>> WebApi::call_form(std::string method, std::vector<std::pair<std::string, std::string>> args) {
  std::string body = net::form_encode(args);
  std::string content_type = "application/x-www-form-urlencoded";
  auto result = co_await send(std::move(method), std::move(content_type), std::move(body));
  co_return result;
}

asio::awaitable<Result<json>> WebApi::post_message(json args) {
  // Reserve this channel's next slot now, so posts leave in the order they
  // were made; a burst of a few passes at once, then one per interval.
  const std::string channel = args.value("channel", "");
  const auto now = std::chrono::steady_clock::now();
  auto& next = next_slot_[channel];
  const auto earliest = now - options_.post_interval * std::max(0, options_.post_burst - 1);
  const auto slot = std::max(next, earliest);
  next = slot + options_.post_interval;
  if (slot > now) {
    const auto delay = slot - now;
    co_await sleep_for(delay);
  }
  if (next_slot_.size() > 10000) {
    // Forget channels whose slots are long past.
    std::erase_if(next_slot_, [now](const auto& entry) { return entry.second < now; });
  }
  std::string method = "chat.postMessage";
  auto result = co_await call(std::move(method), std::move(args));
  co_return result;
}

asio::awaitable<Result<json>> WebApi::send(std::string method, std::string content_type, std::string body) {
  // HttpClient retries (net::Backoff, Retry-After honoured): attempts that
  // never reached Slack, 429 and 5xx (Slack documents that a message answered
  // 429/5xx was not posted). A timeout or a dropped connection after the
  // request went out is retried only for calls that do the same thing twice
  // (chat.update, users.info…).
  const net::Idempotent idempotent = creates_something(method) ? net::Idempotent::no : net::Idempotent::yes;
  net::HttpClientRequest request;
  request.method = "POST";
  request.url = options_.api_base + "/" + method;
  request.headers = {{"Authorization", "Bearer " + options_.token}, {"Content-Type", content_type}};
  request.body = body;
  request.timeout = options_.timeout;
  request.verify_tls = options_.verify_tls;
  request.max_retries = std::max(options_.max_attempts - 1, 0);
  request.idempotent = idempotent;
  request.retry_status = [](int status) { return status >= 500 && status <= 599; };
  request.retry_base = std::chrono::milliseconds(500);
  request.retry_cap = std::chrono::seconds(8);
  request.max_retry_after = options_.max_retry_after;
  auto response = co_await http_.send(std::move(request));
  if (!response) {
    if (net::outcome_unknown(response.error()) && idempotent == net::Idempotent::no) {
      const std::string channel = channel_of(content_type, body);
      spdlog::warn(
          "slack: {} to channel {} was sent but not answered ({}); not sending it again: the message may "
          "or may not have been posted",
          method, channel, response.error().message);
      co_return fail(response.error().code, method + " to channel " + channel + ": " + response.error().message +
                                                "; not sent again, the message may or may not have been posted");
    }
    co_return fail(response.error().code, method + ": " + response.error().message);
  }
  if (response->status == 429) {
    const auto wait = std::chrono::duration_cast<std::chrono::seconds>(
        net::retry_after(*response).value_or(std::chrono::milliseconds(0)));
    co_return fail(Errc::unavailable, method + ": rate limited by Slack (Retry-After " + std::to_string(wait.count()) + " s)");
  }
  if (response->status >= 500) {
    co_return fail(Errc::upstream, method + ": Slack answered HTTP " + std::to_string(response->status));
  }
  json answer = json::parse(response->body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    co_return fail(Errc::upstream, method + ": Slack answered HTTP " + std::to_string(response->status) +
                                       " without a JSON object");
  }
  if (!answer.value("ok", false)) {
    const std::string error = answer.contains("error") && answer["error"].is_string() ? answer["error"].get<std::string>()
                                                                                        : "HTTP " + std::to_string(response->status);
    Errc code = Errc::upstream;
    if (error == "invalid_auth" || error == "not_authed" || error == "token_revoked" || error == "missing_scope") {
      code = Errc::denied;
    }
    co_return fail(code, method + ": " + error);
  }
  co_return answer;
}

}  // namespace opsgate::adapters::slack
