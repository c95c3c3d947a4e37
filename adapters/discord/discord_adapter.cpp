#include "adapters/discord/discord_adapter.hpp"

#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "adapters/discord/discord_messages.hpp"
#include "adapters/discord/discord_rest.hpp"
#include "adapters/discord/ed25519.hpp"
#include "adapters/discord/gateway.hpp"
#include "src/audit/replay_store.hpp"
#include "src/core/bounded_map.hpp"
#include "src/core/log_exception.hpp"

namespace opsgate::adapters::discord {

namespace asio = boost::asio;
using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

namespace {

constexpr const char* kInteractionThread = "interaction:";
constexpr const char* kMessageThread = "message:";
constexpr std::size_t kMaxPieces = 5;  // messages per reply at most
// What the adapter remembers per interaction, click and approval message is
// keyed by what callers send: bounded by entries and by bytes.
constexpr std::size_t kMaxRemembered = 10000;
constexpr std::size_t kMaxRememberedBytes = 8 * 1024 * 1024;
constexpr std::size_t kMaxLoggedGuilds = 100;  // foreign guilds logged once each, up to this many

// True when the decimal unix `timestamp` is within `window` of `now`; false for anything else.
bool fresh(std::string_view timestamp, std::chrono::system_clock::time_point now, std::chrono::seconds window) {
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size() || timestamp.empty()) {
    return false;
  }
  const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // Compared without a subtraction that could overflow on a hostile value.
  return seconds >= now_s - window.count() && seconds <= now_s + window.count();
}

// An interaction whose token can still be used for follow-ups.
struct InteractionRef {
  std::string application_id;
  std::string token;
  SteadyTime created;
  bool component = false;         // a button click (its @original is the message with the buttons)
  bool original_used = false;     // the deferred "thinking" message was replaced already
  std::string approval_id;        // for clicks
  std::string message_content;    // for clicks: the text of the message clicked
};

// The message that carries an approval's buttons.
struct ApprovalMessage {
  std::string channel_id;
  std::string message_id;
  std::string content;
  std::string webhook_token;  // set when posted through an interaction webhook
  SteadyTime posted;
};

// A click waiting for its answer (the vote's outcome, or a refusal) for a
// moment, so Discord gets type 7 with the outcome rather than a bare ack.
struct ClickWait {
  explicit ClickWait(asio::any_io_executor executor) : timer(executor) {}
  asio::steady_timer timer;
  std::optional<json> answer;  // under the adapter's mutex
  bool closed = false;         // answered (or given up); later news goes through the webhook
};

std::string webhook_path(const InteractionRef& ref) { return "/webhooks/" + ref.application_id + "/" + ref.token; }

bool ok_status(int status) { return status >= 200 && status < 300; }

net::HttpResponse callback(const json& body) { return net::HttpResponse::json(200, body); }

net::HttpResponse ephemeral(std::string text) {
  return callback(json{{"type", kChannelMessage},
                       {"data", {{"content", text}, {"flags", kEphemeral}, {"allowed_mentions", no_mentions()}}}});
}

class DiscordAdapterImpl final : public DiscordAdapter {
 public:
  DiscordAdapterImpl(DiscordConfig config, asio::any_io_executor executor, net::HttpClient& http, const Clock& clock,
                     std::shared_ptr<audit::ReplayStore> replays, std::shared_ptr<Leadership> leadership)
      : config_(std::move(config)),
        key_(*Ed25519PublicKey::from_hex(config_.public_key)),
        executor_(std::move(executor)),
        rest_(http, rest_options(config_)),
        clock_(clock),
        replays_(std::move(replays)),
        leadership_(std::move(leadership)) {}

  std::string_view platform() const override { return "discord"; }

  void install_routes(net::HttpServer& server, EventSink& sink) override {
    server_ = &server;
    sink_ = &sink;
    server.route("POST", kInteractionsPath, [this](net::HttpRequest request) { return handle(std::move(request)); });
  }

  asio::awaitable<void> run(EventSink& sink) override {
    if (config_.gateway) {
      GatewayOptions options;
      options.bot_token = config_.bot_token;
      options.url = config_.gateway_url;
      options.intents = config_.intents;
      options.reconnect_delay = config_.reconnect_delay;
      options.ca_file = config_.ca_file;
      options.verify_tls = config_.verify_tls;
      GatewayHooks hooks;
      hooks.on_message = [this, &sink](ChatEvent event) {
        if (guild_allowed(event.workspace)) {
          dispatch(sink, std::move(event));
        }
      };
      hooks.on_status = [this](bool ok, std::string detail) {
        if (server_ != nullptr) {
          server_->set_ready("discord_gateway", ok, std::move(detail));
        }
      };
      if (leadership_ == nullptr) {
        co_await run_gateway(std::move(options), rest_, std::move(hooks));
      } else {
        // One session across replicas: Discord would deliver every message to each.
        auto session = [this, options, hooks] { return run_gateway(options, rest_, hooks); };
        auto on_change = [this](bool leading) {
          if (!leading && server_ != nullptr) {
            server_->set_ready("discord_gateway", true, "standby: another replica holds the gateway session");
          }
        };
        co_await leadership_->run_while_leader("the Discord gateway session", session, on_change);
      }
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) {
      co_return;
    }
    // Webhook-only (or the gateway gave up on a fatal close): wait for shutdown.
    asio::steady_timer forever(executor_, asio::steady_timer::time_point::max());
    auto token = asio::as_tuple(asio::use_awaitable);
    auto waited = co_await forever.async_wait(token);
    (void)waited;
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    if (!message.approval_id.empty() && !message.approval_outcome.empty()) {
      co_await update_approval_message(message);
    }
    co_await deliver(std::move(message));
  }

 private:
  static DiscordRestOptions rest_options(const DiscordConfig& config) {
    DiscordRestOptions o;
    o.api_base = config.api_base;
    o.bot_token = config.bot_token;
    o.timeout = config.timeout;
    o.ca_file = config.ca_file;
    o.verify_tls = config.verify_tls;
    return o;
  }

  // Runs the event to its end without holding up the caller (Discord wants
  // its answer within 3 s; a vote that reaches quorum runs the action).
  void dispatch(EventSink& sink, ChatEvent event) {
    const std::string what = "event " + event.message_id;
    asio::co_spawn(executor_, sink.on_event(std::move(event)), [what](std::exception_ptr e) { log_exception("discord: " + what, e); });
  }

  asio::awaitable<net::HttpResponse> handle(net::HttpRequest request) {
    const std::string_view signature = request.header_or_empty("X-Signature-Ed25519");
    const std::string_view timestamp = request.header_or_empty("X-Signature-Timestamp");
    if (!verify_discord_request(key_, signature, timestamp, request.body)) {
      // Discord sends bad signatures on purpose to check the endpoint; debug only.
      spdlog::debug("discord: refused an interaction from {} with a missing or invalid signature", request.remote_address);
      co_return net::HttpResponse::text(401, "invalid request signature\n");
    }
    if (!fresh(timestamp, clock_.now(), kInteractionFreshness)) {
      // Signed, but not now: a captured request sent again later.
      spdlog::warn("discord: refused an interaction from {}: X-Signature-Timestamp {} is more than {} s from now",
                   request.remote_address, timestamp.substr(0, 20), kInteractionFreshness.count());
      co_return net::HttpResponse::text(401, "stale request timestamp\n");
    }
    const auto interaction = parse_interaction(request.body);
    if (!interaction) {
      co_return net::HttpResponse::text(400, "expected an interaction (JSON object with a numeric type)\n");
    }
    if (interaction->type == kPing) {
      co_return callback(json{{"type", kPong}});
    }
    if (interaction->id.empty()) {
      co_return net::HttpResponse::text(400, "interaction without an id\n");
    }
    auto first = replays_->first_time("discord:" + interaction->id, clock_.now());
    if (!first) {
      spdlog::error("discord: interaction {} refused: {}", interaction->id, first.error().message);
      co_return net::HttpResponse::text(503, "opsgate cannot record this interaction now\n");
    }
    if (!*first) {
      spdlog::info("discord: interaction {} was handled already (a replay); not acted on again", interaction->id);
      co_return callback(json{{"type", kDeferredUpdate}});
    }
    if (!interaction->guild_id.empty() && !guild_allowed(interaction->guild_id)) {
      co_return ephemeral("opsgate is not enabled in this server.");
    }
    if (interaction->user_id.empty() || interaction->channel_id.empty() || interaction->token.empty()) {
      co_return net::HttpResponse::text(400, "interaction without user, channel or token\n");
    }
    if (interaction->type == kApplicationCommand) {
      co_return on_command(*interaction);
    }
    if (interaction->type == kMessageComponent) {
      Interaction click = *interaction;
      auto answer = co_await on_click(click);
      co_return answer;
    }
    co_return ephemeral("opsgate does not handle this kind of interaction.");
  }

  net::HttpResponse on_command(const Interaction& in) {
    if (in.command_name != config_.command_name) {
      return ephemeral("Unknown command `/" + in.command_name + "`; opsgate answers `/" + config_.command_name + "`.");
    }
    if (in.command_text.empty()) {
      return ephemeral("Tell me what to do, e.g. `/" + config_.command_name + " restart cart staging` or `/" +
                       config_.command_name + " help`.");
    }
    remember(in, false, "");
    ChatEvent event = event_of(in);
    event.text = in.command_text;
    const std::string what = "/" + config_.command_name + " " + in.id;
    asio::co_spawn(executor_, answer_command(sink_, std::move(event)), [what](std::exception_ptr e) { log_exception("discord: " + what, e); });
    return callback(json{{"type", kDeferredChannelMessage}});
  }

  // Runs a deferred command through the pipeline and makes sure its "thinking"
  // message is completed whatever happens: by the pipeline's answer, else by
  // a message saying there was none or that handling failed; and by "still
  // working" if nothing came within deferred_deadline, before the token dies.
  asio::awaitable<void> answer_command(EventSink* sink, ChatEvent event) {
    const std::string thread = event.thread;
    const std::string id = event.message_id;
    const auto executor = co_await asio::this_coro::executor;
    auto watchdog = std::make_shared<asio::steady_timer>(executor, config_.deferred_deadline);
    asio::co_spawn(executor, still_working(thread, watchdog), [id](std::exception_ptr e) { log_exception("discord: watchdog of " + id, e); });
    std::string crash;
    try {
      co_await sink->on_event(std::move(event));
    } catch (const std::exception& e) {
      crash = e.what();
    }
    watchdog->cancel();
    if (!crash.empty()) {
      spdlog::error("discord: interaction {}: handling failed: {}", id, crash);
      const std::string failed = "❌ opsgate failed while handling this request (internal error) and has no answer "
                                 "for it. An operator can find interaction " + id + " in opsgate's log.";
      co_await complete_original(thread, failed);
      co_return;
    }
    const std::string silent = "opsgate handled this request and has nothing more to say here; "
                               "`opsgate audit tail` has the whole trail.";
    co_await complete_original(thread, silent);
  }

  asio::awaitable<void> still_working(std::string thread, std::shared_ptr<asio::steady_timer> watchdog) {
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec] = co_await watchdog->async_wait(token);
    if (ec) {
      co_return;  // the pipeline finished first
    }
    const std::string text = "⏳ Still working on it; the answer will follow in this channel.";
    co_await complete_original(thread, text);
  }

  // Replaces the deferred "thinking" message with `text` unless an answer already did.
  asio::awaitable<void> complete_original(std::string thread, std::string text) {
    const auto ref = live_interaction(thread);
    if (!ref || !take_original(thread)) {
      co_return;
    }
    const json body{{"content", text}, {"allowed_mentions", no_mentions()}};
    std::string method = "PATCH";
    std::string path = webhook_path(*ref) + "/messages/@original";
    std::string payload = dump(body);
    auto response = co_await rest_.call(method, path, payload);
    log_failure("-", "complete the deferred answer of " + thread, response);
  }

  asio::awaitable<net::HttpResponse> on_click(Interaction in) {
    const auto vote = parse_custom_id(in.custom_id);
    if (!vote) {
      co_return ephemeral("This button is not one of opsgate's.");
    }
    remember(in, true, vote->approval_id);
    const auto executor = co_await asio::this_coro::executor;
    auto wait = std::make_shared<ClickWait>(executor);
    {
      std::lock_guard lock(mutex_);
      clicks_[vote->approval_id] = wait;
      click_threads_[thread_of(in)] = wait;
      if (approval_messages_.find(vote->approval_id) == nullptr && !in.message_id.empty()) {
        // The clicker's word until an outcome for this approval arrives: bounded by bytes, never over ours.
        clicked_messages_.put(vote->approval_id,
                              ApprovalMessage{in.channel_id, in.message_id, in.message_content, "", std::chrono::steady_clock::now()},
                              vote->approval_id.size() + in.channel_id.size() + in.message_id.size() + in.message_content.size());
      }
    }
    ChatEvent event = event_of(in);
    event.text = std::string(vote->approve ? "approve " : "deny ") + vote->approval_id;
    dispatch(*sink_, std::move(event));

    wait->timer.expires_after(config_.click_answer_wait);
    auto token = asio::as_tuple(asio::use_awaitable);
    auto waited = co_await wait->timer.async_wait(token);
    (void)waited;
    std::lock_guard lock(mutex_);
    wait->closed = true;
    // Another click on the same approval may have taken (and dropped) the slot already.
    if (const auto open = clicks_.find(vote->approval_id); open != clicks_.end() && open->second == wait) {
      clicks_.erase(open);
    }
    click_threads_.erase(thread_of(in));
    if (wait->answer) {
      if ((*wait->answer)["type"] == kChannelMessage) {
        // This click's @original is now its private note, not the message with
        // the buttons: a later outcome must not edit it through this token.
        if (const InteractionRef* last = last_click_.find(vote->approval_id); last != nullptr && last->token == in.token) {
          last_click_.erase(vote->approval_id);
        }
      }
      co_return callback(*wait->answer);
    }
    co_return callback(json{{"type", kDeferredUpdate}});  // the outcome edits the message when it comes
  }

  static std::string thread_of(const Interaction& in) { return kInteractionThread + in.id; }

  ChatEvent event_of(const Interaction& in) const {
    ChatEvent event;
    event.platform = "discord";
    event.workspace = in.guild_id;
    event.channel = in.channel_id;
    event.thread = thread_of(in);
    event.message_id = in.id;
    event.principal = principal_of(in.user_id, in.user_name, in.roles);
    event.addressed = true;
    return event;
  }

  // Guild messages and interactions are served only in the allowed guilds;
  // DMs (no guild) always. A foreign guild is logged once, at debug.
  bool guild_allowed(const std::string& guild_id) {
    if (config_.guilds.empty() || guild_id.empty() ||
        std::find(config_.guilds.begin(), config_.guilds.end(), guild_id) != config_.guilds.end()) {
      return true;
    }
    std::lock_guard lock(mutex_);
    if (logged_guilds_.size() < kMaxLoggedGuilds && logged_guilds_.insert(guild_id).second) {
      spdlog::debug("discord: ignoring guild {} (not in adapters.discord.guilds); logged once", guild_id);
    }
    return false;
  }

  static std::size_t bytes_of(const InteractionRef& ref) {
    return ref.application_id.size() + ref.token.size() + ref.approval_id.size() + ref.message_content.size() + 64;
  }

  void remember(const Interaction& in, bool component, const std::string& approval_id) {
    std::lock_guard lock(mutex_);
    InteractionRef ref{in.application_id, in.token, std::chrono::steady_clock::now(), component, false, approval_id,
                       in.message_content};
    const std::size_t bytes = bytes_of(ref);
    interactions_.put(thread_of(in), ref, bytes);
    if (component) {
      last_click_.put(approval_id, std::move(ref), bytes);
    }
  }

  std::optional<InteractionRef> live_interaction(const std::string& thread) {
    std::lock_guard lock(mutex_);
    const InteractionRef* ref = interactions_.find(thread);
    if (ref == nullptr || std::chrono::steady_clock::now() - ref->created > config_.token_lifetime) {
      return std::nullopt;
    }
    return *ref;
  }

  // Edits the message with the buttons: outcome shown, buttons gone.
  asio::awaitable<void> update_approval_message(const OutboundMessage& message) {
    const std::string line = outcome_line(message.approval_outcome, message.approval_outcome_text);
    std::string method = "PATCH";
    std::string path;
    std::string content;
    {
      std::lock_guard lock(mutex_);
      const ApprovalMessage* stored = approval_messages_.find(message.approval_id);
      if (stored == nullptr) {
        stored = clicked_messages_.find(message.approval_id);
      }
      const InteractionRef* click = last_click_.find(message.approval_id);
      content = stored != nullptr ? stored->content : click != nullptr ? click->message_content : "";
      content = content.empty() ? line : content + "\n" + line;
      const auto wait = clicks_.find(message.approval_id);
      if (wait != clicks_.end() && !wait->second->closed) {
        // The click is still waiting for its answer: the update goes in it (type 7).
        wait->second->answer = json{{"type", kUpdateMessage},
                                    {"data", {{"content", content}, {"components", json::array()}, {"allowed_mentions", no_mentions()}}}};
        auto timer_owner = wait->second;
        asio::post(timer_owner->timer.get_executor(), [timer_owner] { timer_owner->timer.cancel(); });
        co_return;
      }
      const auto now = std::chrono::steady_clock::now();
      if (click != nullptr && now - click->created <= config_.token_lifetime) {
        path = webhook_path(*click) + "/messages/@original";
      } else if (stored != nullptr && !stored->webhook_token.empty() && now - stored->posted <= config_.token_lifetime) {
        path = "/webhooks/" + config_.application_id + "/" + stored->webhook_token + "/messages/" + stored->message_id;
      } else if (stored != nullptr && !stored->message_id.empty()) {
        path = "/channels/" + stored->channel_id + "/messages/" + stored->message_id;
      }
    }
    if (path.empty()) {
      spdlog::info("[{}] discord: approval {} {}: its message is not known here (sent before a restart?); posting only",
                   message.request_id, message.approval_id, message.approval_outcome);
      co_return;
    }
    const json body{{"content", split_content(content).front()}, {"components", json::array()}, {"allowed_mentions", no_mentions()}};
    std::string payload = dump(body);
    auto response = co_await rest_.call(method, path, payload);
    log_failure(message.request_id, "update the approval message", response);
  }

  static void log_failure(const std::string& request_id, const std::string& what,
                          const Result<net::HttpClientResponse>& response) {
    if (!response) {
      spdlog::error("[{}] discord: could not {}: {}", request_id, what, response.error().message);
    } else if (!ok_status(response->status)) {
      spdlog::error("[{}] discord: could not {}: HTTP {}: {}", request_id, what, response->status, response->body.substr(0, 300));
    }
  }

  asio::awaitable<void> deliver(OutboundMessage message) {
    if (message.text.empty()) {
      co_return;
    }
    const bool approval_request = !message.approval_id.empty() && message.approval_outcome.empty();
    const std::string text = mention_principals(message.text);
    auto pieces = split_content(text);
    if (pieces.size() > kMaxPieces) {
      // Beyond a few screens a channel is flooded; the rest is cut, and said so.
      std::size_t cut = 0;
      for (std::size_t i = kMaxPieces; i < pieces.size(); ++i) {
        cut += pieces[i].size();
      }
      pieces.resize(kMaxPieces);
      const std::string note = "\n… (" + std::to_string(cut) + " more characters not shown)";
      pieces.back() = split_content(pieces.back(), kMaxContent - note.size()).front() + note;
    }
    const std::string thread = message.thread;

    // A reply to a click: the clicker sees it (ephemeral), in the click's answer if it is still open.
    if (thread.rfind(kInteractionThread, 0) == 0) {
      std::lock_guard lock(mutex_);
      const auto wait = click_threads_.find(thread);
      if (wait != click_threads_.end() && !wait->second->closed && !approval_request) {
        if (wait->second->answer) {
          // The click's answer already shows the outcome on the clicked message
          // (type 7); a follow-up now could reach Discord before that answer does.
          spdlog::debug("[{}] discord: the click already shows the outcome; not sending: {}", message.request_id,
                        pieces.front().substr(0, 120));
          co_return;
        }
        wait->second->answer = json{{"type", kChannelMessage},
                                    {"data", {{"content", pieces.front()}, {"flags", kEphemeral}, {"allowed_mentions", no_mentions()}}}};
        auto timer_owner = wait->second;
        asio::post(timer_owner->timer.get_executor(), [timer_owner] { timer_owner->timer.cancel(); });
        co_return;
      }
    }
    std::optional<InteractionRef> ref;
    if (thread.rfind(kInteractionThread, 0) == 0) {
      ref = live_interaction(thread);
    }
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      json body{{"content", pieces[i]}, {"allowed_mentions", no_mentions()}};
      const bool last = i + 1 == pieces.size();
      if (approval_request && last) {
        body["components"] = approval_components(message.approval_id);
      }
      std::string method = "POST";
      std::string path;
      bool via_webhook = false;
      if (ref) {
        via_webhook = true;
        if (ref->component) {
          body["flags"] = kEphemeral;  // answers to a click are for the clicker
          path = webhook_path(*ref) + "?wait=true";
        } else if (take_original(thread)) {
          method = "PATCH";  // replaces the deferred "thinking" message
          path = webhook_path(*ref) + "/messages/@original";
        } else {
          path = webhook_path(*ref) + "?wait=true";
        }
      } else {
        // No live interaction token (a gateway message, or more than 15 minutes on): a channel message.
        path = "/channels/" + message.channel + "/messages";
        if (thread.rfind(kMessageThread, 0) == 0 && i == 0) {
          body["message_reference"] = {{"message_id", thread.substr(std::string_view(kMessageThread).size())},
                                       {"fail_if_not_exists", false}};
        }
      }
      std::string payload = dump(body);
      auto response = co_await rest_.call(method, path, payload);
      log_failure(message.request_id, "send a message", response);
      if (!response || !ok_status(response->status)) {
        if (method == "PATCH") {
          give_back_original(thread);
        }
        throw std::runtime_error("Discord refused the message" +
                                 (response ? " (HTTP " + std::to_string(response->status) + ")" : ": " + response.error().message));
      }
      if (approval_request && last) {
        const json sent = json::parse(response->body, nullptr, false);
        ApprovalMessage stored{message.channel, "", text, via_webhook ? ref->token : "", std::chrono::steady_clock::now()};
        if (sent.is_object() && sent.contains("id") && sent["id"].is_string()) {
          stored.message_id = sent["id"].get<std::string>();
        }
        std::lock_guard lock(mutex_);
        approval_messages_.put(message.approval_id, stored);
      }
    }
  }

  // True the first time for a command interaction: its first reply replaces @original.
  bool take_original(const std::string& thread) {
    std::lock_guard lock(mutex_);
    InteractionRef* ref = interactions_.find(thread);
    if (ref == nullptr || ref->original_used) {
      return false;
    }
    ref->original_used = true;
    return true;
  }

  void give_back_original(const std::string& thread) {
    std::lock_guard lock(mutex_);
    if (InteractionRef* ref = interactions_.find(thread)) {
      ref->original_used = false;
    }
  }

  DiscordConfig config_;
  Ed25519PublicKey key_;
  asio::any_io_executor executor_;
  DiscordRest rest_;
  net::HttpServer* server_ = nullptr;
  EventSink* sink_ = nullptr;
  const Clock& clock_;
  std::shared_ptr<audit::ReplayStore> replays_;  // interaction ids already handled (the daemon's one store)
  std::shared_ptr<Leadership> leadership_;       // null: the gateway always runs
  std::mutex mutex_;
  BoundedMap<InteractionRef> interactions_{kMaxRemembered, kMaxRememberedBytes};  // thread -> token
  BoundedMap<InteractionRef> last_click_{kMaxRemembered, kMaxRememberedBytes};    // approval id -> latest click
  BoundedMap<ApprovalMessage> approval_messages_{kMaxRemembered};                  // approval id -> our message with the buttons
  BoundedMap<ApprovalMessage> clicked_messages_{kMaxRemembered, kMaxRememberedBytes};  // approval id -> message seen in a click
  std::set<std::string> logged_guilds_;  // foreign guilds already logged
  // Open clicks only (erased when answered): bounded by the server's connection cap.
  std::map<std::string, std::shared_ptr<ClickWait>> clicks_;         // approval id -> open click
  std::map<std::string, std::shared_ptr<ClickWait>> click_threads_;  // click thread -> open click
};

}  // namespace

std::unique_ptr<DiscordAdapter> make_discord_adapter(DiscordConfig config, asio::any_io_executor executor,
                                                     net::HttpClient& http, const Clock& clock,
                                                     std::shared_ptr<audit::ReplayStore> replays,
                                                     std::shared_ptr<Leadership> leadership) {
  return std::make_unique<DiscordAdapterImpl>(std::move(config), std::move(executor), http, clock, std::move(replays),
                                              std::move(leadership));
}

json command_definitions(const DiscordConfig& config) {
  return json::array({json{{"name", config.command_name},
                           {"type", 1},
                           {"description", "Ask opsgate: metrics, logs, restarts, approvals (try: help)"},
                           {"options", json::array({json{{"type", 3},
                                                         {"name", "text"},
                                                         {"description", "what to do, e.g. restart cart staging"},
                                                         {"required", true}}})}}});
}

asio::awaitable<Result<std::string>> register_commands(DiscordConfig config, net::HttpClient& http, std::string guild_id) {
  DiscordRest rest(http, DiscordRestOptions{config.api_base, config.bot_token, config.timeout, std::chrono::milliseconds(30000),
                                            3, 50, config.ca_file, config.verify_tls});
  const std::string path = "/applications/" + config.application_id +
                           (guild_id.empty() ? "" : "/guilds/" + guild_id) + "/commands";
  std::string method = "PUT";
  std::string payload = dump(command_definitions(config));
  auto response = co_await rest.call(method, path, payload);
  if (!response) {
    co_return tl::unexpected(response.error());
  }
  if (!ok_status(response->status)) {
    co_return fail(Errc::upstream, "Discord answered HTTP " + std::to_string(response->status) + " to PUT " + path + ": " +
                                       response->body.substr(0, 500));
  }
  co_return "registered /" + config.command_name + (guild_id.empty() ? " as a global command (it can take up to an hour to appear)"
                                                                      : " in guild " + guild_id + " (available now)");
}

}  // namespace opsgate::adapters::discord
