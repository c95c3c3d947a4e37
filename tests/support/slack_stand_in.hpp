#pragma once
// A stand-in Slack Web API for the Slack adapter's tests: net::HttpServer on
// 127.0.0.1:0 with its own threads, answering chat.postMessage, chat.update,
// users.info, usergroups.users.list and apps.connections.open as Slack does
// (../shared/specs/slack.md), and recording every call. Like Slack it checks
// the token (the bot token, `Authorization: Bearer xoxb-…`, for the bot's
// methods, the app-level `xapp-…` one for apps.connections.open: not_authed,
// invalid_auth, not_allowed_token_type) and reads a body by its content type
// (JSON, or a form decoded by the stand-in's own decoder, not opsgate's).
// Also: signed request bodies as Slack sends them, for posting to opsgate.

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "adapters/slack/slack_signature.hpp"
#include "src/net/http_server.hpp"
#include "tests/support/form_decode.hpp"
#include "tests/support/loopback_http_server.hpp"
#include "tests/support/slow_answer.hpp"

namespace opsgate::test {

// One Web API call the stand-in received.
struct SlackCall {
  std::string method;
  std::string authorization;
  std::string content_type;
  std::string raw;
  nlohmann::json body;                       // JSON bodies
  std::map<std::string, std::string> form;   // form bodies
  std::string ts;                            // chat.postMessage: the ts the stand-in answered
  bool throttled = false;                    // answered 429
  int failed_status = 0;                     // answered this 5xx instead (see fail_next)
};

// The tokens of the Slack app opsgate is configured as.
struct SlackTokens {
  std::string bot = "xoxb-test-bot-token";
  std::string app = "xapp-1-A0BBB-test";
};

// Owned by one test; its methods from the test's thread, handlers on the
// stand-in's threads (hence the mutex).
class SlackStandIn {
 public:
  static constexpr const char* kTeam = "T0AAA";

  explicit SlackStandIn(SlackTokens tokens = {}) : state_(std::make_shared<State>(std::move(tokens))), server_(config()) {
    for (const char* method : {"chat.postMessage", "chat.update", "users.info", "usergroups.users.list", "apps.connections.open"}) {
      auto state = state_;
      const std::string m = method;
      server_.route("POST", "/api/" + m, [state, m](net::HttpRequest request) { return handle(state, m, std::move(request)); });
    }
    server_.start();
  }

  SlackStandIn(const SlackStandIn&) = delete;
  SlackStandIn& operator=(const SlackStandIn&) = delete;

  std::string api_base() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()) + "/api"; }

  void add_user(const std::string& id, const std::string& display_name) {
    std::lock_guard lock(state_->mutex);
    state_->users[id] = display_name;
  }
  void set_usergroup(const std::string& id, std::vector<std::string> members) {
    std::lock_guard lock(state_->mutex);
    state_->usergroups[id] = std::move(members);
  }
  // The next `count` calls of `method` get 429 with Retry-After.
  void throttle(const std::string& method, int count, int retry_after_s) {
    std::lock_guard lock(state_->mutex);
    state_->throttle[method] = {count, retry_after_s};
  }
  // The next `count` calls of `method` are processed and recorded (a post is
  // posted), then answered only after `delay`: a Slack slower than opsgate's timeout.
  void answer_slowly(const std::string& method, int count, std::chrono::milliseconds delay) {
    std::lock_guard lock(state_->mutex);
    state_->slow[method] = {count, delay};
  }
  // The next `count` calls of `method` get `status` (e.g. 503) and post nothing.
  void fail_next(const std::string& method, int count, int status) {
    std::lock_guard lock(state_->mutex);
    state_->failing[method] = {count, status};
  }
  // What apps.connections.open hands out (a ws:// URL of the test's server).
  void set_socket_url(const std::string& url) {
    std::lock_guard lock(state_->mutex);
    state_->socket_url = url;
  }

  std::vector<SlackCall> calls(const std::string& method = "") const {
    std::lock_guard lock(state_->mutex);
    std::vector<SlackCall> out;
    for (const auto& c : state_->calls) {
      if (method.empty() || c.method == method) {
        out.push_back(c);
      }
    }
    return out;
  }
  int throttled() const {
    std::lock_guard lock(state_->mutex);
    return state_->throttled;
  }

  // Polls until `done` holds, at most `limit`. Returns whether it did.
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(15)) const {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }
  // The first chat.postMessage whose text contains `needle`, waiting for it.
  std::optional<SlackCall> wait_for_post(const std::string& needle, std::chrono::milliseconds limit = std::chrono::seconds(15)) const {
    std::optional<SlackCall> found;
    wait_until([&] {
      for (const auto& c : calls("chat.postMessage")) {
        if (!c.throttled && c.failed_status == 0 && c.body.value("text", "").find(needle) != std::string::npos) {
          found = c;
          return true;
        }
      }
      return false;
    }, limit);
    return found;
  }

 private:
  struct State {
    explicit State(SlackTokens t) : tokens(std::move(t)) {}
    const SlackTokens tokens;
    mutable std::mutex mutex;
    std::vector<SlackCall> calls;
    std::map<std::string, std::string> users;
    std::map<std::string, std::vector<std::string>> usergroups;
    std::map<std::string, std::pair<int, int>> throttle;
    std::map<std::string, std::pair<int, std::chrono::milliseconds>> slow;
    std::map<std::string, std::pair<int, int>> failing;
    std::string socket_url;
    int throttled = 0;
    int next_ts = 1;
  };

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, std::string method,
                                                          net::HttpRequest request) {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(state->mutex);
      auto& slow = state->slow[method];
      if (slow.first > 0) {
        --slow.first;
        delay = slow.second;
      }
    }
    auto response = answer(state, method, std::move(request));  // recorded (and posted) now
    auto answered = co_await answer_after(std::move(response), delay);
    co_return answered;
  }

  static net::HttpResponse answer(const std::shared_ptr<State>& state, const std::string& method,
                                  const net::HttpRequest& request) {
    using nlohmann::json;
    SlackCall call;
    call.method = method;
    call.authorization = std::string(request.header_or_empty("Authorization"));
    call.content_type = std::string(request.header_or_empty("Content-Type"));
    call.raw = request.body;
    // Slack reads JSON only where the content type says so, and a form otherwise.
    bool readable = true;
    if (call.content_type.rfind("application/json", 0) == 0) {
      call.body = json::parse(request.body, nullptr, false);
      readable = !call.body.is_discarded();
    } else if (call.content_type.rfind("application/x-www-form-urlencoded", 0) == 0) {
      const auto form = decode_form_strict(request.body);
      readable = form.has_value();
      call.form = form.value_or(std::map<std::string, std::string>{});
    }
    std::lock_guard lock(state->mutex);
    auto& failing = state->failing[method];
    if (failing.first > 0) {
      --failing.first;
      call.failed_status = failing.second;
      state->calls.push_back(call);
      return net::HttpResponse::json(failing.second, json{{"ok", false}, {"error", "service_unavailable"}});
    }
    auto& throttle = state->throttle[method];
    if (method == "chat.postMessage" && throttle.first == 0) {
      call.ts = "1767225700." + std::to_string(100000 + state->next_ts++);
    }
    call.throttled = throttle.first > 0;
    state->calls.push_back(call);
    if (throttle.first > 0) {
      --throttle.first;
      ++state->throttled;
      auto response = net::HttpResponse::json(429, json{{"ok", false}, {"error", "ratelimited"}});
      response.headers.emplace_back("Retry-After", std::to_string(throttle.second));
      return response;
    }
    const auto refuse = [](const char* error) { return net::HttpResponse::json(200, json{{"ok", false}, {"error", error}}); };
    // The app-level token opens Socket Mode connections and nothing else; the bot token the rest.
    const bool app_method = method == "apps.connections.open";
    const std::string& wanted = app_method ? state->tokens.app : state->tokens.bot;
    const std::string& other = app_method ? state->tokens.bot : state->tokens.app;
    if (call.authorization.empty()) {
      return refuse("not_authed");
    }
    if (call.authorization == "Bearer " + other) {
      return refuse("not_allowed_token_type");
    }
    if (call.authorization != "Bearer " + wanted) {
      return refuse("invalid_auth");
    }
    if (!readable) {
      return refuse(call.content_type.rfind("application/json", 0) == 0 ? "invalid_json" : "invalid_form_data");
    }
    if (method == "chat.postMessage" || method == "chat.update") {
      // JSON must be declared UTF-8: another charset is refused (no charset only warns, as Slack does).
      const auto charset = call.content_type.find("charset=");
      if (charset != std::string::npos && call.content_type.compare(charset, 13, "charset=utf-8") != 0) {
        return refuse("invalid_charset");
      }
      if (!call.body.is_object() || !call.body.contains("channel") || !call.body["channel"].is_string() ||
          !call.body.contains("text") || !call.body["text"].is_string()) {
        return refuse("invalid_arguments");
      }
      if (method == "chat.update" && (!call.body.contains("ts") || !call.body["ts"].is_string())) {
        return refuse("message_not_found");
      }
      const std::string ts = method == "chat.update" ? call.body.value("ts", "") : call.ts;
      return net::HttpResponse::json(200, json{{"ok", true},
                                               {"channel", call.body["channel"]},
                                               {"ts", ts},
                                               {"message", {{"text", call.body["text"]}, {"ts", ts}}}});
    }
    if (method == "users.info") {
      const auto it = state->users.find(call.form["user"]);
      if (it == state->users.end()) {
        return net::HttpResponse::json(200, json{{"ok", false}, {"error", "user_not_found"}});
      }
      return net::HttpResponse::json(200, json{{"ok", true},
                                               {"user",
                                                {{"id", it->first},
                                                 {"team_id", kTeam},
                                                 {"name", it->second},
                                                 {"real_name", it->second},
                                                 {"deleted", false},
                                                 {"is_bot", false},
                                                 {"profile", {{"display_name", it->second}}}}}});
    }
    if (method == "usergroups.users.list") {
      const auto it = state->usergroups.find(call.form["usergroup"]);
      if (it == state->usergroups.end()) {
        return net::HttpResponse::json(200, json{{"ok", false}, {"error", "no_such_subteam"}});
      }
      return net::HttpResponse::json(200, json{{"ok", true}, {"users", it->second}});
    }
    return net::HttpResponse::json(200, json{{"ok", true}, {"url", state->socket_url}});
  }

  static net::HttpServerConfig config() {
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = std::chrono::seconds(1);
    return c;
  }

  std::shared_ptr<State> state_;
  LoopbackHttpServer server_;
};

// A request exactly as Slack sends it to opsgate: signed with `secret` at `timestamp`.
inline std::string signed_slack_request(const std::string& path, const std::string& content_type, const std::string& body,
                                        const std::string& secret, std::int64_t timestamp,
                                        const std::string& extra_headers = "") {
  const std::string ts = std::to_string(timestamp);
  return "POST " + path + " HTTP/1.1\r\nHost: opsgate\r\nContent-Type: " + content_type +
         "\r\nX-Slack-Request-Timestamp: " + ts + "\r\nX-Slack-Signature: " + adapters::slack::sign(secret, ts, body) +
         "\r\n" + extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "a b&c" as a form value.
inline std::string form_value(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

// An Events API app_mention, as Slack posts it.
inline nlohmann::json slack_mention(const std::string& event_id, const std::string& user, const std::string& text,
                                    const std::string& ts, const std::string& channel = "C0OPS") {
  return {{"type", "event_callback"},
          {"team_id", SlackStandIn::kTeam},
          {"api_app_id", "A0BBB"},
          {"event_id", event_id},
          {"event_time", 1767225600},
          {"authorizations", nlohmann::json::array({{{"team_id", SlackStandIn::kTeam}, {"user_id", "U0BOT"}, {"is_bot", true}}})},
          {"event", {{"type", "app_mention"}, {"user", user}, {"text", "<@U0BOT> " + text}, {"ts", ts}, {"channel", channel},
                     {"event_ts", ts}}}};
}

// A block_actions payload: `user` clicked `action_id` with `value` on the message `message_ts`.
inline nlohmann::json slack_click(const std::string& user, const std::string& action_id, const std::string& value,
                                  const std::string& message_ts, const std::string& thread_ts, const std::string& channel = "C0OPS") {
  return {{"type", "block_actions"},
          {"user", {{"id", user}, {"username", user}, {"team_id", SlackStandIn::kTeam}}},
          {"team", {{"id", SlackStandIn::kTeam}, {"domain", "acme"}}},
          {"api_app_id", "A0BBB"},
          {"trigger_id", "111.222." + user},
          {"container", {{"type", "message"}, {"message_ts", message_ts}, {"channel_id", channel}}},
          {"channel", {{"id", channel}, {"name", "ops"}}},
          {"message", {{"ts", message_ts}, {"thread_ts", thread_ts}, {"text", "Approval needed"}}},
          {"response_url", "https://hooks.slack.com/actions/T0AAA/1/xyz"},
          {"actions", nlohmann::json::array({{{"type", "button"}, {"action_id", action_id}, {"block_id", "approval:" + value},
                                              {"value", value}, {"action_ts", "1767225610.123456"}}})}};
}

}  // namespace opsgate::test
