#include "adapters/teams/teams_adapter.hpp"
#include "src/core/bounded_map.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "adapters/teams/activity.hpp"
#include "adapters/teams/cards.hpp"
#include "adapters/teams/connector_client.hpp"
#include "adapters/teams/jwks_cache.hpp"
#include "adapters/teams/token_validator.hpp"
#include "src/audit/replay_store.hpp"
#include "src/net/outbound_url.hpp"
#include "src/core/log_exception.hpp"

namespace opsgate::adapters::teams {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxRemembered = 4096;  // conversations, senders, approval cards, seen ids


// The answer to an adaptiveCard/action invoke (the HTTP body is the result).
net::HttpResponse invoke_card(const json& card) {
  return net::HttpResponse::json(200, {{"statusCode", 200}, {"type", kCardContentType}, {"value", card}});
}
net::HttpResponse invoke_message(const std::string& text) {
  return net::HttpResponse::json(200, {{"statusCode", 200}, {"type", "application/vnd.microsoft.activity.message"}, {"value", text}});
}
net::HttpResponse invoke_error(const std::string& text) {
  return net::HttpResponse::json(
      200, {{"statusCode", 400}, {"type", "application/vnd.microsoft.error"}, {"value", {{"code", "BadRequest"}, {"message", text}}}});
}

// A map that forgets its oldest entries past a bound.
// An approval card we posted: where it is, so a decision can update it.
struct ApprovalCard {
  std::string service_url;
  std::string conversation_id;
  std::string activity_id;
  std::string text;
  std::string requester;  // principal id, for the inline refusal
};

class TeamsAdapterImpl final : public TeamsAdapter {
 public:
  TeamsAdapterImpl(TeamsConfig config, asio::any_io_executor executor, net::HttpClient& http, const Clock& clock,
                   std::shared_ptr<audit::ReplayStore> replays)
      : config_(std::move(config)),
        executor_(std::move(executor)),
        clock_(clock),
        replays_(std::move(replays)),
        keys_(jwks_settings(config_), http, clock),
        validator_(token_settings(config_), keys_, clock),
        connector_(connector_settings(config_), http, clock) {}

  std::string_view platform() const override { return "teams"; }

  void install_routes(net::HttpServer& server, EventSink& sink) override {
    EventSink* target = &sink;
    server.route("POST", config_.path, [this, target](net::HttpRequest request) { return handle(std::move(request), target); });
  }

  int token_fetches() const override { return connector_.token_fetches(); }
  int key_fetches() const override { return keys_.fetches(); }

  // Webhook only: nothing to run but waiting for cancellation.
  asio::awaitable<void> run(EventSink&) override {
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer forever(executor, std::chrono::hours(24 * 365));
    auto token = asio::as_tuple(asio::use_awaitable);
    auto waited = co_await forever.async_wait(token);
    (void)waited;
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    auto posted = co_await deliver(std::move(message), true);
    if (!posted) {
      throw std::runtime_error(posted.error().message);  // the pipeline audits it as a failed reply
    }
  }

  asio::awaitable<Result<std::string>> post(OutboundMessage message) override {
    message.thread.clear();
    auto posted = co_await deliver(std::move(message), false);
    co_return posted;
  }

 private:
  static JwksSettings jwks_settings(const TeamsConfig& config) {
    JwksSettings s;
    s.openid_metadata_url = config.openid_metadata_url;
    return s;
  }

  static TokenSettings token_settings(const TeamsConfig& config) {
    TokenSettings s;
    s.app_id = config.app_id;
    s.issuer = config.issuer;
    return s;
  }

  static ConnectorSettings connector_settings(const TeamsConfig& config) {
    ConnectorSettings s;
    s.app_id = config.app_id;
    s.app_password = config.app_password;
    s.token_url = config.token_url;
    s.service_hosts = config.service_hosts;
    s.retry_base = config.retry_base;
    s.timeout = config.api_timeout;
    return s;
  }

  std::string service_url_of(const std::string& conversation_id) const {
    std::lock_guard lock(mutex_);
    const std::string* url = conversations_.find(conversation_id);
    return url == nullptr ? std::string{} : *url;
  }

  asio::awaitable<Result<std::string>> deliver(OutboundMessage message, bool reply) {
    const std::string service_url = service_url_of(message.channel);
    if (service_url.empty()) {
      co_return fail(Errc::not_found, "no serviceUrl known for Teams conversation " + message.channel +
                                          " (none of its messages reached this opsgate since it started)");
    }
    const std::string conversation = message.channel;
    const std::string reply_to = reply ? message.thread : std::string{};

    if (!message.approval_id.empty() && message.approval_outcome.empty()) {
      const json card = approval_card(message.text, message.approval_id);
      json activity = message_activity(message.text, card, reply_to);
      auto posted = co_await connector_.send(service_url, conversation, reply_to, std::move(activity));
      if (posted) {
        std::lock_guard lock(mutex_);
        const std::string* requester = senders_.find(message.thread);
        approvals_.put(message.approval_id, ApprovalCard{service_url, conversation, *posted, message.text,
                                                         requester == nullptr ? std::string{} : *requester});
      }
      co_return posted;
    }

    if (!message.approval_id.empty()) {
      std::optional<ApprovalCard> remembered;
      {
        std::lock_guard lock(mutex_);
        if (const ApprovalCard* c = approvals_.find(message.approval_id)) {
          remembered = *c;
        }
      }
      if (remembered && !remembered->activity_id.empty()) {
        const json card = decided_card(remembered->text, message.approval_outcome, message.approval_outcome_text);
        json activity = message_activity(remembered->text, card, "");
        activity["id"] = remembered->activity_id;
        auto updated = co_await connector_.update(remembered->service_url, remembered->conversation_id,
                                                  remembered->activity_id, std::move(activity));
        if (!updated) {
          spdlog::warn("[{}] teams: updating the approval card of {} failed: {}", message.request_id,
                       message.approval_id, updated.error().message);
        }
      }
      if (message.text.empty()) {
        co_return std::string{};
      }
    }

    json card;  // null: plain text
    if (!message.action.empty() || !message.suggestions.empty()) {
      card = result_card(message);
    }
    json activity = message_activity(message.text, card, reply_to);
    auto sent = co_await connector_.send(service_url, conversation, reply_to, std::move(activity));
    co_return sent;
  }

  static net::HttpResponse unauthorized() { return net::HttpResponse::json(401, {{"error", "unauthorized"}}); }

  void spawn(EventSink* sink, ChatEvent event) {
    const std::string id = event.message_id;
    asio::co_spawn(executor_, sink->on_event(std::move(event)), [id](std::exception_ptr error) {
      log_exception("teams: handling activity " + id, error);
    });
  }

  ChatEvent event_for(const Activity& activity) const {
    ChatEvent event;
    event.platform = "teams";
    event.workspace = activity.tenant_id;
    event.channel = activity.conversation_id;
    event.thread = activity.id;
    event.message_id = activity.id;
    event.principal.id = "teams:aad:" + activity.aad_object_id;
    event.principal.display_name = activity.from_name;
    // What Microsoft vouches for in this signed activity: the tenant, team
    // and channel it came from; the config may name groups for those.
    if (!activity.tenant_id.empty()) {
      event.principal.groups.push_back("teams:tenant:" + activity.tenant_id);
    }
    for (const auto* place : {&activity.team_id, &activity.channel}) {
      if (place->empty()) {
        continue;
      }
      event.principal.groups.push_back((place == &activity.team_id ? "teams:team:" : "teams:channel:") + *place);
      if (const auto it = config_.channel_groups.find(*place); it != config_.channel_groups.end()) {
        for (const auto& name : it->second) {
          event.principal.groups.push_back("teams:group:" + name);
        }
      }
    }
    event.addressed = activity.conversation_type == "personal" || activity.mentioned;
    return event;
  }

  asio::awaitable<net::HttpResponse> handle(net::HttpRequest request, EventSink* sink) {
    // The token is checked first, whatever the body: an unauthenticated
    // caller learns nothing but 401 (a body that is no Activity has no
    // serviceUrl, so no Bot Framework token matches it).
    const json body = json::parse(request.body, nullptr, false);
    const Activity activity = parse_activity(body);
    const std::string authorization(request.header_or_empty("Authorization"));
    const std::string channel_id = activity.channel_id;
    const std::string service_url = activity.service_url;
    auto claims = co_await validator_.validate(authorization, channel_id, service_url);
    if (!claims) {
      spdlog::warn("teams: refused a request from {}: {}", request.remote_address, claims.error().message);
      co_return unauthorized();
    }
    if (!body.is_object()) {
      co_return net::HttpResponse::json(400, {{"error", "the body is not a JSON Activity"}});
    }
    if (activity.channel_id != "msteams") {
      co_return net::HttpResponse::json(200, json::object());  // other Bot Framework channels are not served
    }
    if (!config_.allowed_tenants.empty() &&
        std::find(config_.allowed_tenants.begin(), config_.allowed_tenants.end(), activity.tenant_id) ==
            config_.allowed_tenants.end()) {
      spdlog::warn("teams: refused an activity from tenant '{}' (not in allowed_tenants)", activity.tenant_id);
      co_return net::HttpResponse::json(403, {{"error", "tenant not allowed"}});
    }
    if (!connector_.trust_service_url(activity.service_url)) {
      spdlog::error("teams: serviceUrl {} is not under an allowed host (adapters.teams.service_hosts); not answering",
                    activity.service_url);
      co_return net::HttpResponse::json(403, {{"error", "serviceUrl not allowed"}});
    }
    if (activity.conversation_id.empty()) {
      co_return net::HttpResponse::json(400, {{"error", "the activity has no conversation"}});
    }
    {
      std::lock_guard lock(mutex_);
      conversations_.put(activity.conversation_id, activity.service_url);
    }
    if (activity.type != "message" && activity.type != "invoke") {
      co_return net::HttpResponse::json(200, json::object());  // conversationUpdate, typing, reactions
    }
    if (activity.aad_object_id.empty()) {
      spdlog::warn("teams: activity {} has no from.aadObjectId; ignored (no identity for policy)", activity.id);
      co_return net::HttpResponse::json(200, json::object());
    }
    // Teams redelivers an activity it saw no answer for; the id is unique within its conversation.
    if (!activity.id.empty()) {
      auto first = replays_->first_time("teams:" + activity.conversation_id + ":" + activity.type + ":" + activity.id,
                                        clock_.now());
      if (!first) {
        spdlog::error("teams: activity {} refused: {}", activity.id, first.error().message);
        co_return net::HttpResponse::json(503, {{"error", "opsgate cannot record this activity now"}});
      }
      if (!*first) {
        spdlog::info("teams: activity {} was handled already (a redelivery); ignored", activity.id);
        co_return net::HttpResponse::json(200, json::object());
      }
    }

    ChatEvent event = event_for(activity);
    if (activity.type == "invoke") {
      if (activity.name != "adaptiveCard/action") {
        co_return net::HttpResponse::json(200, json::object());
      }
      const CardAction action = card_action_from_invoke(activity.value);
      co_return answer_click(action, activity, std::move(event), sink);
    }
    const CardAction submitted = card_action_from_submit(activity.value);
    if (!submitted.verb.empty()) {
      answer_click(submitted, activity, std::move(event), sink);  // the Action.Submit fallback
      co_return net::HttpResponse::json(200, json::object());
    }
    if (event.text = activity.text; event.text.empty()) {
      co_return net::HttpResponse::json(200, json::object());
    }
    {
      std::lock_guard lock(mutex_);
      senders_.put(activity.id, event.principal.id);
    }
    spawn(sink, std::move(event));
    co_return net::HttpResponse::json(200, json::object());
  }

  // A button: a vote (approve/deny <id>) or a suggested command, as typed text
  // from the clicking user. Answered at once; the pipeline decides.
  net::HttpResponse answer_click(const CardAction& action, const Activity& activity, ChatEvent event, EventSink* sink) {
    if (action.verb.empty()) {
      return invoke_error("this card action is not one of opsgate's");
    }
    // Replies about the click belong under the card.
    if (!activity.reply_to_id.empty()) {
      event.thread = activity.reply_to_id;
    }
    if (action.verb == "command") {
      event.text = action.argument;
      event.addressed = true;
      spawn(sink, std::move(event));
      return invoke_message("Running: " + action.argument);
    }
    event.text = action.verb + " " + action.argument;
    event.addressed = true;
    std::optional<ApprovalCard> remembered;
    {
      std::lock_guard lock(mutex_);
      if (const ApprovalCard* c = approvals_.find(action.argument)) {
        remembered = *c;
      }
    }
    const std::string who = event.principal.display_name.empty() ? event.principal.id : event.principal.display_name;
    const bool own = remembered && remembered->requester == event.principal.id;
    spawn(sink, std::move(event));  // refusals too: the pipeline audits them
    if (!remembered) {
      return invoke_message(action.verb == "approve" ? "Approval vote received." : "Denial received.");
    }
    const std::string status = own ? "⛔ " + who + ", you cannot approve or deny your own request."
                                   : "🗳 " + std::string(action.verb == "approve" ? "Approval" : "Denial") + " from " +
                                         who + " received; the outcome will show here.";
    return invoke_card(status_card(remembered->text, action.argument, status));
  }

  TeamsConfig config_;
  asio::any_io_executor executor_;
  const Clock& clock_;
  std::shared_ptr<audit::ReplayStore> replays_;  // activity ids already handled (the daemon's one store)
  JwksCache keys_;
  TokenValidator validator_;
  ConnectorClient connector_;
  mutable std::mutex mutex_;
  BoundedMap<std::string> conversations_{kMaxRemembered};  // conversation id → serviceUrl
  BoundedMap<std::string> senders_{kMaxRemembered};        // activity id → principal id
  BoundedMap<ApprovalCard> approvals_{kMaxRemembered};     // approval id → the card
};

}  // namespace

TeamsConfig parse_teams_config(const ConfigNode& node) {
  TeamsConfig c;
  c.app_id = node.str("app_id");
  if (c.app_id.empty()) {
    node.fail("app_id", "the Azure Bot's Microsoft App ID is required (Azure portal → your bot → Configuration)");
  }
  c.app_password = node.secret("app_password");
  if (c.app_password.empty()) {
    node.fail("app_password", "the bot's client secret is empty (write {env: TEAMS_APP_PASSWORD} or {file: PATH})");
  }
  c.tenant = node.str_or("tenant", c.tenant);
  if (c.tenant.empty() || c.tenant.find_first_of("/?#") != std::string::npos) {
    node.fail("tenant", "write botframework.com (multi-tenant) or your tenant id (single-tenant)");
  }
  c.path = node.str_or("path", c.path);
  if (c.path.empty() || c.path.front() != '/') {
    node.fail("path", "the messaging endpoint path must start with '/', e.g. /api/messages");
  }
  c.openid_metadata_url = node.str_or("openid_metadata_url", c.openid_metadata_url);
  net::require_outbound_url(node, "openid_metadata_url", c.openid_metadata_url, net::UrlSecrecy::sensitive);
  c.issuer = node.str_or("issuer", c.issuer);
  c.token_url = node.str_or("token_url", "https://login.microsoftonline.com/" + c.tenant + "/oauth2/v2.0/token");
  net::require_outbound_url(node, "token_url", c.token_url, net::UrlSecrecy::sensitive);
  c.service_hosts = node.strings_or("service_hosts", kDefaultServiceHosts);
  if (c.service_hosts.empty()) {
    node.fail("service_hosts", "at least one host suffix is needed, or opsgate can never reply");
  }
  for (const auto& host : c.service_hosts) {
    if (host.empty() || host.find_first_of("/:@") != std::string::npos) {
      node.fail("service_hosts", "'" + host + "' is not a host suffix (write e.g. botframework.com, no scheme or path)");
    }
  }
  const bool single_tenant = c.tenant != "botframework.com";
  c.allowed_tenants = node.strings_or("allowed_tenants", single_tenant ? std::vector<std::string>{c.tenant} : std::vector<std::string>{});
  if (const auto groups = node.optional_child("channel_groups")) {
    if (!groups->is_map()) {
      node.fail("channel_groups", "write a mapping of team or channel id to a list of group names");
    }
    for (const auto& [id, names] : groups->entries()) {
      c.channel_groups[id] = groups->strings_or(id);
    }
  }
  node.finish();
  return c;
}

std::unique_ptr<TeamsAdapter> make_teams_adapter(TeamsConfig config, boost::asio::any_io_executor executor,
                                                 net::HttpClient& http, const Clock& clock,
                                                 std::shared_ptr<audit::ReplayStore> replays) {
  return std::make_unique<TeamsAdapterImpl>(std::move(config), std::move(executor), http, clock, std::move(replays));
}

}  // namespace opsgate::adapters::teams
