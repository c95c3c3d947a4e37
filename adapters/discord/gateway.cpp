#include "adapters/discord/gateway.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "adapters/discord/discord_messages.hpp"
#include "adapters/discord/discord_rest.hpp"
#include "src/core/json_get.hpp"
#include "src/net/backoff.hpp"
#include "src/net/websocket_client.hpp"

namespace opsgate::adapters::discord {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

namespace {

constexpr auto kHelloTimeout = std::chrono::seconds(30);
constexpr auto kMaxBackoff = std::chrono::milliseconds(60000);

enum class Next { resume, identify, stop };

// What survives a reconnect.
struct SessionState {
  std::optional<std::int64_t> seq;
  std::string session_id;
  std::string resume_url;
  std::string bot_user_id;
};

// One connection's shared state; its three coroutines run on one executor.
struct Connection {
  Connection(asio::any_io_executor executor, net::WebSocketClient& socket) : ws(socket), wake_writer(executor), wake_heartbeat(executor) {}
  net::WebSocketClient& ws;
  std::deque<std::string> outbox;
  asio::steady_timer wake_writer;
  asio::steady_timer wake_heartbeat;
  std::chrono::milliseconds interval{0};  // 0 until Hello
  bool acked = true;
  bool healthy = false;  // READY or RESUMED seen
  Next next = Next::resume;
  bool invalid_session = false;  // op 9: wait 1-5 s before identifying again
  std::string why;
  bool zombie = false;
  bool ended = false;
  int close_request = 0;  // the writer closes with this code (after what is queued)

  void push(std::string frame) {
    outbox.push_back(std::move(frame));
    wake_writer.cancel();
  }
  // The first reason wins: the coroutines cancelled after it report only that.
  void end(Next n, std::string reason) {
    if (ended) {
      return;
    }
    ended = true;
    next = n;
    why = std::move(reason);
  }
};

std::string heartbeat_frame(const SessionState& state) {
  return json{{"op", 1}, {"d", state.seq ? json(*state.seq) : json(nullptr)}}.dump();
}

double unit_random(const GatewayOptions& options) { return options.random ? options.random() : net::default_unit_random(); }

bool cancelled(const asio::cancellation_state& state) { return state.cancelled() != asio::cancellation_type::none; }

asio::awaitable<void> reader(Connection& c, SessionState& state, bool resume, const GatewayOptions& options,
                             const GatewayHooks& hooks) {
  for (;;) {
    auto frame = co_await c.ws.read();
    if (!frame) {
      const int code = c.ws.close_code();
      if (fatal_close_code(code)) {
        c.end(Next::stop, describe_close_code(code));
      } else if (code == 4007 || code == 4009) {
        c.end(Next::identify, describe_close_code(code));
      } else {
        c.end(Next::resume, code != 0 ? describe_close_code(code) : frame.error().message);
      }
      co_return;
    }
    const json j = json::parse(*frame, nullptr, false);
    if (!j.is_object()) {
      continue;
    }
    if (const auto s = j.find("s"); s != j.end() && s->is_number_integer()) {
      state.seq = s->get<std::int64_t>();
    }
    const std::int64_t op = json_get::int_at(j, "op", -1);
    const json d = j.contains("d") ? j["d"] : json(nullptr);
    if (op == 10) {
      const std::int64_t interval = d.is_object() ? json_get::int_at(d, "heartbeat_interval", 0) : 0;
      c.interval = std::chrono::milliseconds(std::clamp<std::int64_t>(interval, 100, 600000));
      c.wake_heartbeat.cancel();
      if (resume && !state.session_id.empty()) {
        c.push(json{{"op", 6}, {"d", {{"token", options.bot_token.reveal()}, {"session_id", state.session_id}, {"seq", state.seq ? json(*state.seq) : json(nullptr)}}}}.dump());
      } else {
        c.push(json{{"op", 2},
                    {"d",
                     {{"token", options.bot_token.reveal()},
                      {"intents", options.intents},
                      {"properties", {{"os", "linux"}, {"browser", "opsgate"}, {"device", "opsgate"}}}}}}
                   .dump());
      }
    } else if (op == 11) {
      c.acked = true;
    } else if (op == 1) {
      c.push(heartbeat_frame(state));
    } else if (op == 7) {
      c.end(Next::resume, "Discord asked to reconnect (op 7)");
      co_return;
    } else if (op == 9) {
      c.invalid_session = true;
      if (d.is_boolean() && d.get<bool>()) {
        c.end(Next::resume, "invalid session, resumable (op 9)");
      } else {
        state.session_id.clear();
        state.seq.reset();
        c.end(Next::identify, "invalid session (op 9): identifying again");
      }
      co_return;
    } else if (op == 0) {
      const std::string type = json_get::string_at(j, "t");
      if (type == "READY" && d.is_object()) {
        state.session_id = json_get::string_at(d, "session_id");
        state.resume_url = json_get::string_at(d, "resume_gateway_url");
        if (d.contains("user") && d["user"].is_object()) {
          state.bot_user_id = json_get::string_at(d["user"], "id");
        }
        c.healthy = true;
        spdlog::info("discord: gateway ready (bot user {})", state.bot_user_id);
        if (hooks.on_status) {
          hooks.on_status(true, "gateway connected, session ready");
        }
      } else if (type == "RESUMED") {
        c.healthy = true;
        spdlog::info("discord: gateway session resumed");
        if (hooks.on_status) {
          hooks.on_status(true, "gateway connected, session resumed");
        }
      } else if (type == "MESSAGE_CREATE") {
        auto event = gateway_message_event(d, state.bot_user_id);
        if (event && hooks.on_message) {
          hooks.on_message(std::move(*event));
        }
      }
    }
  }
}

asio::awaitable<void> writer(Connection& c) {
  auto token = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    while (!c.outbox.empty()) {
      std::string frame = std::move(c.outbox.front());
      c.outbox.pop_front();
      auto written = co_await c.ws.write(frame);
      if (!written) {
        c.end(Next::resume, written.error().message);
        co_return;
      }
    }
    if (c.close_request != 0) {
      const int code = c.close_request;
      c.close_request = 0;
      co_await c.ws.close(static_cast<std::uint16_t>(code));  // the reader then sees the end of the connection
    }
    c.wake_writer.expires_at(asio::steady_timer::time_point::max());
    auto [ec] = co_await c.wake_writer.async_wait(token);
    if (ec && ec != asio::error::operation_aborted) {
      co_return;
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(cs)) {
      co_return;
    }
  }
}

asio::awaitable<void> heartbeater(Connection& c, SessionState& state, const GatewayOptions& options) {
  auto token = asio::as_tuple(asio::use_awaitable);
  c.wake_heartbeat.expires_after(kHelloTimeout);
  auto [hello_ec] = co_await c.wake_heartbeat.async_wait(token);
  (void)hello_ec;
  auto hello_cs = co_await asio::this_coro::cancellation_state;
  if (cancelled(hello_cs)) {
    co_return;
  }
  if (c.interval.count() == 0) {
    c.end(Next::resume, "no Hello from the gateway within 30 s");
    co_return;
  }
  // The first beat after interval × jitter, so reconnecting bots do not beat in step.
  auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(c.interval.count()) * unit_random(options)));
  for (;;) {
    c.wake_heartbeat.expires_after(delay);
    auto [ec] = co_await c.wake_heartbeat.async_wait(token);
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(cs)) {
      co_return;
    }
    (void)ec;
    if (!c.acked) {
      // Close with a code other than 1000/1001 (keeps the session resumable);
      // the reader ends when the close completes, or this after 5 s.
      c.zombie = true;
      c.end(Next::resume, "no heartbeat ACK since the last heartbeat: zombie connection");
      c.close_request = 4000;
      c.wake_writer.cancel();
      c.wake_heartbeat.expires_after(std::chrono::seconds(5));
      auto [close_ec] = co_await c.wake_heartbeat.async_wait(token);
      (void)close_ec;
      co_return;
    }
    c.acked = false;
    c.push(heartbeat_frame(state));
    delay = c.interval;
  }
}

std::string with_query(std::string url) {
  if (url.find('?') == std::string::npos) {
    url += (url.find('/', url.find("://") + 3) == std::string::npos ? "/" : "") + std::string("?v=10&encoding=json");
  }
  return url;
}

}  // namespace

std::chrono::milliseconds invalid_session_pause(double unit_random) {
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(1000 + static_cast<std::int64_t>(u * 4000.0));
}

bool fatal_close_code(int code) { return code == 4004 || (code >= 4010 && code <= 4014); }

std::string describe_close_code(int code) {
  switch (code) {
    case 4004: return "4004 authentication failed: the bot token is wrong (Developer Portal → Bot → Reset Token)";
    case 4010: return "4010 invalid shard";
    case 4011: return "4011 sharding required: the bot is in too many guilds for one connection";
    case 4012: return "4012 invalid API version";
    case 4013: return "4013 invalid intents";
    case 4014:
      return "4014 disallowed intents: enable the privileged MESSAGE_CONTENT intent (Developer Portal → Bot → "
             "Privileged Gateway Intents) or remove message_content from adapters.discord.gateway.intents";
    case 4007: return "4007 invalid sequence on resume";
    case 4009: return "4009 session timed out";
    case 4000: return "4000 unknown error";
    case 4008: return "4008 rate limited (sent too fast)";
    default: return "close code " + std::to_string(code);
  }
}

asio::awaitable<void> run_gateway(GatewayOptions options, DiscordRest& rest, GatewayHooks hooks) {
  const auto executor = co_await asio::this_coro::executor;
  auto token = asio::as_tuple(asio::use_awaitable);
  SessionState state;
  bool resume = false;
  bool invalid_session = false;
  // unit_random(options) is the injected source when there is one.
  net::Backoff backoff({options.reconnect_delay, kMaxBackoff}, [&options] { return unit_random(options); });
  const auto status = [&hooks](bool ok, std::string detail) {
    if (hooks.on_status) {
      hooks.on_status(ok, std::move(detail));
    }
  };
  status(false, "gateway connecting");
  for (;;) {
    std::string why;
    std::string base = options.url;
    // A resume goes to the session's resume_gateway_url; only a new session asks for the URL.
    const bool resuming = resume && !state.resume_url.empty();
    if (base.empty() && !resuming) {
      std::string method = "GET";
      std::string path = "/gateway/bot";
      std::string body;
      auto answer = co_await rest.call(method, path, body);
      const json doc = answer && answer->status == 200 ? json::parse(answer->body, nullptr, false) : json();
      if (doc.is_object() && doc.contains("url") && doc["url"].is_string()) {
        base = doc["url"].get<std::string>();
      } else if (answer && answer->status == 401) {
        why = describe_close_code(4004);
        spdlog::error("discord: GET /gateway/bot: {}; not connecting", why);
        status(false, why + "; not connecting");
        co_return;
      } else {
        why = "GET /gateway/bot failed: " + (answer ? "HTTP " + std::to_string(answer->status) : answer.error().message);
      }
    }
    if (why.empty()) {
      const std::string url = with_query(resuming ? state.resume_url : base);
      net::WebSocketOptions ws_options;
      ws_options.ca_file = options.ca_file;
      ws_options.verify_tls = options.verify_tls;
      // The gateway's heartbeats (op 1/11) and zombie detection watch the
      // session; the transport's own pings are not needed.
      ws_options.idle_timeout = std::chrono::milliseconds(0);
      net::WebSocketClient socket(executor, ws_options);
      auto connected = co_await socket.connect(url);
      if (!connected) {
        why = connected.error().message;
      } else {
        Connection c(executor, socket);
        co_await (reader(c, state, resume, options, hooks) || writer(c) || heartbeater(c, state, options));
        why = c.why;
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) {
          co_return;
        }
        if (c.next == Next::stop) {
          spdlog::error("discord: the gateway closed the connection: {}; not reconnecting", why);
          status(false, "gateway closed: " + why + "; not reconnecting");
          co_return;
        }
        if (!c.zombie) {
          // A code other than 1000/1001 keeps the session resumable.
          asio::steady_timer close_deadline(executor, std::chrono::seconds(2));
          auto closed = co_await (socket.close(4000) || close_deadline.async_wait(token));
          (void)closed;
        }
        resume = c.next == Next::resume && !state.session_id.empty();
        if (c.healthy) {
          backoff.reset();
        }
        invalid_session = c.invalid_session;
      }
    }
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(cs)) {
      co_return;
    }
    const auto pause = invalid_session ? invalid_session_pause(unit_random(options)) : backoff.next();
    invalid_session = false;
    spdlog::warn("discord: gateway: {}; {} in {} ms", why, resume ? "resuming" : "reconnecting", pause.count());
    status(false, "gateway reconnecting: " + why);
    if (options.pause) {
      co_await options.pause(pause);
    } else {
      asio::steady_timer timer(executor, pause);
      auto [ec] = co_await timer.async_wait(token);
      if (ec) {
        co_return;
      }
    }
    auto paused_cs = co_await asio::this_coro::cancellation_state;
    if (cancelled(paused_cs)) {
      co_return;
    }
  }
}

}  // namespace opsgate::adapters::discord
