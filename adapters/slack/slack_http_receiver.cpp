#include "adapters/slack/slack_http_receiver.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "adapters/slack/slack_chatter.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "adapters/slack/slack_signature.hpp"
#include "src/audit/audit_hash.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using nlohmann::json;

SlackHttpReceiver::SlackHttpReceiver(const SlackConfig& config, std::shared_ptr<const Clock> clock,
                                     SlackDispatch& dispatch)
    : config_(config), clock_(std::move(clock)), dispatch_(dispatch) {}

void SlackHttpReceiver::install_routes(net::HttpServer& server, EventSink& sink) {
  // The handlers are thin: each forwards to a member coroutine (no capturing lambda coroutines).
  EventSink* target = &sink;
  server.route("POST", "/slack/events", [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::events); });
  server.route("POST", "/slack/commands", [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::commands); });
  server.route("POST", "/slack/interactions",
               [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::interactions); });
}

asio::awaitable<net::HttpResponse> SlackHttpReceiver::on_http(net::HttpRequest request, EventSink* sink, Route route) {
  if (request.body.size() > config_.max_body) {
    spdlog::warn("slack: refused {} from {}: body of {} bytes over max_body", request.path, request.remote_address,
                 request.body.size());
    co_return net::HttpResponse::text(413, "body too large\n");
  }
  if (route == Route::commands && request.body.rfind("ssl_check=", 0) == 0 && decode_form(request.body)["ssl_check"] == "1") {
    co_return net::HttpResponse::text(200, "");  // Slack's unsigned certificate check (ssl_check=1&token=…): nothing else
  }
  const std::string_view timestamp = request.header_or_empty("X-Slack-Request-Timestamp");
  const auto check = verify_signature(config_.signing_secret.reveal(), timestamp,
                                      request.header_or_empty("X-Slack-Signature"), request.body, clock_->now());
  if (check != SignatureCheck::ok) {
    // Never the body: it may hold anything, and it is not trusted.
    spdlog::warn("slack: refused {} from {} ({} bytes): {}", request.path, request.remote_address, request.body.size(),
                 describe(check));
    co_return net::HttpResponse::text(401, "invalid Slack signature\n");
  }
  SlackInbound in;
  std::string what;
  std::string key;
  if (route == Route::events && is_channel_chatter(request.body)) {
    // The common case in a busy channel, and one parse_event ignores: answered
    // without building the document (chatter is never recorded, see README).
    spdlog::debug("slack: event ignored: a channel message, not a mention");
    co_return net::HttpResponse::text(200, "");
  }
  if (route == Route::events) {
    const json body = json::parse(request.body, nullptr, false);
    in = parse_event(body);
    if (in.kind == SlackInbound::Kind::url_verification) {
      co_return net::HttpResponse::json(200, json{{"challenge", in.challenge}});
    }
    what = "event";
    if (!in.event_id.empty()) {
      key = "slack:event:" + in.event_id;
    }
  } else if (route == Route::commands) {
    in = parse_slash_command(decode_form(request.body));
    what = "slash command";
  } else {
    const auto fields = decode_form(request.body);
    const auto payload_field = fields.find("payload");
    const json payload = payload_field == fields.end() ? json() : json::parse(payload_field->second, nullptr, false);
    in = parse_interaction(payload);
    what = "interaction";
  }
  if (key.empty() && in.kind == SlackInbound::Kind::message) {
    // Slash commands and clicks carry no event id: a replay inside the
    // signature's 5-minute window is the same signed bytes, so their digest is the key.
    key = "slack:signed:" + audit::sha256_hex(std::string(timestamp) + ":" + request.body);
  }
  // Channel messages not addressed to opsgate (chatter) were ignored by the
  // parse above and never reach the replay store. The rest waits for the
  // store's durable decision without holding up the I/O thread.
  const Accepted accepted = co_await dispatch_.accept(std::move(in), sink, std::move(what), std::move(key));
  if (accepted == Accepted::busy) {
    co_return net::HttpResponse::text(503, "opsgate is busy; try again\n");
  }
  if (accepted == Accepted::unrecorded) {
    // Cannot tell a replay from a first delivery: refuse, Slack retries events.
    co_return net::HttpResponse::text(503, "opsgate cannot record this delivery now; try again\n");
  }
  if (route == Route::commands && accepted == Accepted::handled) {
    co_return net::HttpResponse::json(200, json{{"response_type", "ephemeral"}, {"text", kWorkingOnIt}});
  }
  co_return net::HttpResponse::text(200, "");
}

}  // namespace opsgate::adapters::slack
