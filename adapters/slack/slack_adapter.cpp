#include "adapters/slack/slack_adapter.hpp"
#include "src/core/bounded_map.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "adapters/slack/slack_blocks.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "adapters/slack/slack_signature.hpp"
#include "adapters/slack/slack_web_api.hpp"
#include "src/audit/audit_hash.hpp"
#include "src/audit/replay_store.hpp"
#include "src/net/outbound_url.hpp"
#include "src/net/websocket_client.hpp"

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxRemembered = 10000;  // approval messages and slash-command threads
constexpr std::size_t kMaxClickedText = 4000;          // longer: not kept (the update shows the outcome only)
constexpr std::size_t kMaxClickedBytes = 4 * 1024 * 1024;  // all clicked messages kept, together
constexpr const char* kWorkingOnIt = "Working on it…";

void log_exception(const std::string& what, std::exception_ptr error) {
  if (!error) {
    return;
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("slack: {} ended with an exception: {}", what, e.what());
  }
}

// A bounded map: the oldest entries go first.
struct PostedMessage {
  std::string channel;
  std::string ts;
  std::string text;
};

template <class T>
struct Cached {
  T value;
  std::chrono::steady_clock::time_point expires;
};

// A user group's members as Slack last listed them, and when (the injected clock).
struct GroupMembers {
  std::vector<std::string> members;
  std::chrono::system_clock::time_point fetched;
};

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

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

namespace {

class SlackAdapterImpl final : public SlackAdapter {
 public:
  SlackAdapterImpl(SlackConfig config, SlackServices services)
      : config_(std::move(config)),
        services_(std::move(services)),
        api_(services_.http, WebApiOptions{.api_base = config_.api_base,
                                           .token = config_.bot_token.reveal(),
                                           .post_interval = config_.post_interval,
                                           .timeout = config_.api_timeout}),
        app_api_(services_.http, WebApiOptions{.api_base = config_.api_base,
                                               .token = config_.app_token.reveal(),
                                               .post_interval = config_.post_interval,
                                               .timeout = config_.api_timeout}) {}

  std::string_view platform() const override { return "slack"; }

  void install_routes(net::HttpServer& server, EventSink& sink) override {
    if (config_.mode != "http") {
      return;
    }
    // The handlers are thin: each forwards to a member coroutine (no capturing lambda coroutines).
    EventSink* target = &sink;
    server.route("POST", "/slack/events", [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::events); });
    server.route("POST", "/slack/commands", [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::commands); });
    server.route("POST", "/slack/interactions",
                 [this, target](net::HttpRequest r) { return on_http(std::move(r), target, Route::interactions); });
  }

  asio::awaitable<void> run(EventSink& sink) override {
    if (config_.mode == "socket") {
      EventSink* target = &sink;
      co_await (socket_loop(target) || wait_for_stop());
      co_return;
    }
    co_await wait_for_stop();  // webhooks arrive through the routes
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    auto posted = co_await deliver(std::move(message));
    if (!posted) {
      throw std::runtime_error(posted.error().message);  // the pipeline records the failed reply
    }
  }

  asio::awaitable<Result<std::string>> post(OutboundMessage message) override {
    message.thread.clear();
    auto posted = co_await deliver(std::move(message));
    if (!posted) {
      co_return tl::unexpected<Error>(posted.error());
    }
    co_return posted->ts;
  }

 private:
  enum class Route { events, commands, interactions };
  enum class Accepted { handled, ignored, replay, unrecorded };

  // ---- inbound, HTTP mode -------------------------------------------------

  asio::awaitable<net::HttpResponse> on_http(net::HttpRequest request, EventSink* sink, Route route) {
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
                                        request.header_or_empty("X-Slack-Signature"), request.body, services_.clock->now());
    if (check != SignatureCheck::ok) {
      // Never the body: it may hold anything, and it is not trusted.
      spdlog::warn("slack: refused {} from {} ({} bytes): {}", request.path, request.remote_address, request.body.size(),
                   describe(check));
      co_return net::HttpResponse::text(401, "invalid Slack signature\n");
    }
    // Slash commands and clicks carry no event id: a replay inside the
    // signature's 5-minute window is the same signed bytes, so their digest is the key.
    const std::string signed_digest = "slack:signed:" + audit::sha256_hex(std::string(timestamp) + ":" + request.body);
    Accepted accepted = Accepted::ignored;
    if (route == Route::events) {
      const json body = json::parse(request.body, nullptr, false);
      SlackInbound in = parse_event(body);
      if (in.kind == SlackInbound::Kind::url_verification) {
        co_return net::HttpResponse::json(200, json{{"challenge", in.challenge}});
      }
      const std::string key = in.event_id.empty() ? signed_digest : "slack:event:" + in.event_id;
      accepted = accept(std::move(in), sink, "event", key);
    } else if (route == Route::commands) {
      accepted = accept(parse_slash_command(decode_form(request.body)), sink, "slash command", signed_digest);
    } else {
      const auto fields = decode_form(request.body);
      const auto payload_field = fields.find("payload");
      const json payload = payload_field == fields.end() ? json() : json::parse(payload_field->second, nullptr, false);
      accepted = accept(parse_interaction(payload), sink, "interaction", signed_digest);
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

  // Replay check and hand over, without waiting: the caller acknowledges at once.
  // `key` names the delivery in the replay store (event id, signed-body digest, envelope id).
  Accepted accept(SlackInbound in, EventSink* sink, const char* what, const std::string& key) {
    if (in.kind != SlackInbound::Kind::message) {
      spdlog::debug("slack: {} ignored: {}", what, in.reason);
      return Accepted::ignored;
    }
    auto first = services_.replays->first_time(key, services_.clock->now());
    if (!first) {
      spdlog::error("slack: {} refused: {}", what, first.error().message);
      return Accepted::unrecorded;
    }
    if (!*first) {
      spdlog::info("slack: {} {} is a replay or retry of one already handled; ignored", what, key);
      return Accepted::replay;
    }
    if (!in.approval_id.empty() && approval_messages_.find(in.approval_id) == nullptr &&
        in.approval_message_text.size() <= kMaxClickedText) {
      // The message with the buttons, so the decision can update it even if
      // opsgate restarted since it posted the request. The id is the
      // clicker's word until the workflow finds the approval: kept apart,
      // bounded by bytes, and never over what opsgate posted itself.
      clicked_messages_.put(in.approval_id, PostedMessage{in.channel, in.approval_message_ts, in.approval_message_text},
                            in.approval_id.size() + in.channel.size() + in.approval_message_ts.size() +
                                in.approval_message_text.size());
    }
    asio::co_spawn(services_.executor, handle(std::move(in), sink),
                   [](std::exception_ptr e) { log_exception("handling an inbound message", e); });
    return Accepted::handled;
  }

  asio::awaitable<void> handle(SlackInbound in, EventSink* sink) {
    ChatEvent event;
    event.platform = "slack";
    event.workspace = in.team;
    event.channel = in.channel;
    event.thread = in.thread;
    event.message_id = in.message_id;
    event.principal.id = "slack:" + in.team + ":" + in.user;
    event.text = in.text;
    event.addressed = in.addressed;
    const std::string user = in.user;
    event.principal.display_name = co_await display_name(user);
    event.principal.groups = co_await groups_of(user);
    co_await sink->on_event(std::move(event));
  }

  // ---- identity -----------------------------------------------------------

  asio::awaitable<std::string> display_name(std::string user) {
    const auto now = std::chrono::steady_clock::now();
    if (const auto* hit = users_.find(user); hit != nullptr && hit->expires > now) {
      co_return hit->value;
    }
    std::vector<std::pair<std::string, std::string>> args{{"user", user}};
    std::string method = "users.info";
    auto answer = co_await api_.call_form(std::move(method), std::move(args));
    if (!answer) {
      spdlog::warn("slack: no display name for {}: {}", user, answer.error().message);
      co_return std::string{};
    }
    const json& u = (*answer)["user"];
    std::string name;
    if (u.is_object()) {
      const json& profile = u.contains("profile") ? u["profile"] : json();
      if (profile.is_object() && profile.value("display_name", "") != "") {
        name = profile.value("display_name", "");
      } else if (u.value("real_name", "") != "") {
        name = u.value("real_name", "");
      } else {
        name = u.value("name", "");
      }
    }
    users_.put(user, Cached<std::string>{name, now + config_.user_ttl});
    co_return name;
  }

  asio::awaitable<std::vector<std::string>> groups_of(std::string user) {
    std::vector<std::string> groups;
    for (const auto& group : config_.usergroups) {
      const std::string id = group;
      auto members = co_await usergroup_members(id);
      if (std::find(members.begin(), members.end(), user) != members.end()) {
        groups.push_back("slack:usergroup:" + group);
      }
    }
    co_return groups;
  }

  asio::awaitable<std::vector<std::string>> usergroup_members(std::string group) {
    const auto now = services_.clock->now();
    const GroupMembers* known = usergroups_.find(group);
    if (known != nullptr && now - known->fetched < config_.usergroup_ttl) {
      co_return known->members;
    }
    std::vector<std::pair<std::string, std::string>> args{{"usergroup", group}};
    std::string method = "usergroups.users.list";
    auto answer = co_await api_.call_form(std::move(method), std::move(args));
    if (!answer) {
      // A Slack outage keeps the last list for usergroup_grace after it was
      // fetched, then fails closed: nobody is a member until Slack answers, so
      // someone removed from the group does not keep its rights meanwhile.
      known = usergroups_.find(group);
      if (known != nullptr && now - known->fetched < config_.usergroup_grace) {
        spdlog::warn("slack: cannot list user group {}: {}; using the list of {} s ago (grace {} s)", group,
                     answer.error().message, std::chrono::duration_cast<std::chrono::seconds>(now - known->fetched).count(),
                     config_.usergroup_grace.count());
        co_return known->members;
      }
      spdlog::error("slack: cannot list user group {}: {}; nobody counts as its member until Slack answers "
                    "(adapters.slack.usergroup_grace is over)", group, answer.error().message);
      co_return std::vector<std::string>{};
    }
    std::vector<std::string> members;
    if ((*answer)["users"].is_array()) {
      for (const auto& id : (*answer)["users"]) {
        if (id.is_string()) {
          members.push_back(id.get<std::string>());
        }
      }
    }
    usergroups_.put(group, GroupMembers{members, now});
    co_return members;
  }

  // ---- outbound -----------------------------------------------------------

  asio::awaitable<Result<PostedMessage>> deliver(OutboundMessage message) {
    std::string thread = message.thread;
    if (thread.empty()) {
      // A slash command has no message to thread under: its first reply is
      // top level and the rest of that request's replies go in its thread.
      if (const auto* first = request_threads_.find(message.request_id)) {
        thread = first->ts;
      }
    }
    if (!message.approval_id.empty() && !message.approval_outcome.empty()) {
      OutboundMessage decided = message;
      co_await update_approval(std::move(decided));
    }
    json payload;
    if (!message.approval_id.empty() && message.approval_outcome.empty()) {
      payload = render_approval_request(message);
    } else {
      payload = render_result(message);
    }
    payload["channel"] = message.channel;
    if (!thread.empty()) {
      payload["thread_ts"] = thread;
    }
    payload["unfurl_links"] = false;
    const std::string text = payload["text"];
    auto answer = co_await api_.post_message(std::move(payload));
    if (!answer) {
      spdlog::error("[{}] slack: reply to {} lost: {}", message.request_id, message.channel, answer.error().message);
      co_return tl::unexpected<Error>(answer.error());
    }
    PostedMessage posted{answer->value("channel", message.channel), answer->value("ts", ""), text};
    if (thread.empty() && !message.request_id.empty()) {
      request_threads_.put(message.request_id, posted);
    }
    if (!message.approval_id.empty() && message.approval_outcome.empty()) {
      approval_messages_.put(message.approval_id, posted);
    }
    co_return posted;
  }

  // The request message loses its buttons and shows the decision.
  asio::awaitable<void> update_approval(OutboundMessage message) {
    const PostedMessage* request = approval_messages_.find(message.approval_id);
    if (request == nullptr) {
      request = clicked_messages_.find(message.approval_id);
    }
    if (request == nullptr) {
      spdlog::info("[{}] slack: no message of approval {} to update (posted before a restart?)", message.request_id,
                   message.approval_id);
      co_return;
    }
    json payload = render_approval_decided(request->text, message);
    payload["channel"] = request->channel;
    payload["ts"] = request->ts;
    std::string method = "chat.update";
    auto answer = co_await api_.call(std::move(method), std::move(payload));
    if (!answer) {
      spdlog::error("[{}] slack: could not update the approval message of {}: {}", message.request_id,
                    message.approval_id, answer.error().message);
    }
  }

  // ---- Socket Mode --------------------------------------------------------

  enum class Ending { dropped, refresh, link_disabled, stopping };

  asio::awaitable<void> wait_for_stop() {
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto executor = co_await asio::this_coro::executor;
    asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
    // Cancelled: shutdown. Close the socket so a pending read ends now.
    stopping_ = true;
    if (socket_) {
      socket_->cancel();
    }
  }

  asio::awaitable<void> socket_loop(EventSink* sink) {
    co_await asio::this_coro::throw_if_cancelled(false);  // shutdown ends the loop, not an exception
    // Shutdown cancels this coroutine (a pending read ends with
    // operation_aborted) and, through wait_for_stop, sets stopping_.
    const auto state = co_await asio::this_coro::cancellation_state;
    const auto stop_requested = [this, &state] { return stopping_ || state.cancelled() != asio::cancellation_type::none; };
    std::chrono::milliseconds backoff{1000};
    std::unique_ptr<net::WebSocketClient> old;
    while (!stop_requested()) {
      auto url = co_await open_socket_url();
      std::unique_ptr<net::WebSocketClient> ws;
      if (url) {
        net::WebSocketOptions options;
        options.idle_timeout = config_.socket_idle_timeout;
        ws = std::make_unique<net::WebSocketClient>(services_.executor, options);
        const std::string target = *url;
        auto connected = co_await ws->connect(target);
        if (!connected) {
          url = tl::unexpected<Error>(connected.error());
        }
      }
      if (old) {
        // The replacement is up (or failed): the old connection goes now.
        co_await old->close();
        old.reset();
      }
      if (!url) {
        if (stop_requested()) {
          break;
        }
        spdlog::warn("slack: Socket Mode connection failed: {}; retrying in {} ms", url.error().message, backoff.count());
        co_await sleep_for(backoff);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(60));
        continue;
      }
      backoff = std::chrono::milliseconds(1000);
      socket_ = ws.get();
      const Ending ending = co_await serve_socket(*ws, sink);
      socket_ = nullptr;
      if (ending == Ending::link_disabled) {
        spdlog::error("slack: Slack disabled this app's Socket Mode link (disconnect: link_disabled): Socket Mode "
                      "was turned off or the app token was revoked; opsgate stops using Slack until restarted");
        co_await ws->close();
        co_return;
      }
      if (ending == Ending::refresh) {
        old = std::move(ws);  // open the new connection before closing this one
        continue;
      }
      if (ending == Ending::stopping || stop_requested()) {
        break;
      }
      spdlog::warn("slack: Socket Mode connection dropped; reconnecting");
    }
  }

  asio::awaitable<Result<std::string>> open_socket_url() {
    std::string method = "apps.connections.open";
    json args = json::object();
    auto answer = co_await app_api_.call(std::move(method), std::move(args));
    if (!answer) {
      co_return tl::unexpected<Error>(answer.error());
    }
    const std::string url = answer->value("url", "");
    if (url.empty()) {
      co_return fail(Errc::upstream, "apps.connections.open answered without a url");
    }
    co_return url;
  }

  asio::awaitable<Ending> serve_socket(net::WebSocketClient& ws, EventSink* sink) {
    for (;;) {
      auto frame = co_await ws.read();
      if (!frame) {
        const auto state = co_await asio::this_coro::cancellation_state;
        if (stopping_ || state.cancelled() != asio::cancellation_type::none) {
          co_return Ending::stopping;
        }
        spdlog::warn("slack: Socket Mode: {}", frame.error().message);
        co_return Ending::dropped;
      }
      const json message = json::parse(*frame, nullptr, false);
      if (!message.is_object()) {
        spdlog::warn("slack: Socket Mode frame that is not a JSON object ignored");
        continue;
      }
      const std::string type = message.value("type", "");
      if (type == "hello") {
        spdlog::info("slack: Socket Mode connected ({} connection(s))", message.value("num_connections", 0));
        continue;
      }
      if (type == "disconnect") {
        const std::string reason = message.value("reason", "");
        spdlog::info("slack: Socket Mode disconnect: {}", reason);
        if (reason == "link_disabled") {
          co_return Ending::link_disabled;
        }
        co_return Ending::refresh;
      }
      const std::string envelope_id = message.value("envelope_id", "");
      if (envelope_id.empty()) {
        continue;
      }
      // Acknowledge first (Slack's 3 s), work afterwards.
      json ack = {{"envelope_id", envelope_id}};
      if (type == "slash_commands") {
        ack["payload"] = {{"response_type", "ephemeral"}, {"text", kWorkingOnIt}};
      }
      std::string ack_text = ack.dump();
      auto acked = co_await ws.write(std::move(ack_text));
      if (!acked) {
        spdlog::warn("slack: Socket Mode ack of {} failed: {}", envelope_id, acked.error().message);
        co_return Ending::dropped;
      }
      const json& payload = message.contains("payload") ? message["payload"] : json();
      // Slack redelivers an envelope it saw no ack for: the envelope id (the
      // event id for events) is the replay key.
      const std::string envelope_key = "slack:envelope:" + envelope_id;
      if (type == "events_api") {
        SlackInbound in = parse_event(payload);
        const std::string key = in.event_id.empty() ? envelope_key : "slack:event:" + in.event_id;
        accept(std::move(in), sink, "event", key);
      } else if (type == "slash_commands") {
        accept(parse_slash_command(fields_of(payload)), sink, "slash command", envelope_key);
      } else if (type == "interactive") {
        accept(parse_interaction(payload), sink, "interaction", envelope_key);
      }
    }
  }

  SlackConfig config_;
  SlackServices services_;
  WebApi api_;
  WebApi app_api_;
  BoundedMap<PostedMessage> approval_messages_{kMaxRemembered};  // posted by opsgate
  BoundedMap<PostedMessage> clicked_messages_{kMaxRemembered, kMaxClickedBytes};  // seen in clicks (caller's word)
  BoundedMap<PostedMessage> request_threads_{kMaxRemembered};
  BoundedMap<Cached<std::string>> users_{kMaxRemembered};
  BoundedMap<GroupMembers> usergroups_{kMaxRemembered};
  bool stopping_ = false;
  net::WebSocketClient* socket_ = nullptr;
};

}  // namespace

std::unique_ptr<SlackAdapter> make_slack_adapter(SlackConfig config, SlackServices services) {
  return std::make_unique<SlackAdapterImpl>(std::move(config), std::move(services));
}

}  // namespace opsgate::adapters::slack
