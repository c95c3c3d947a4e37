#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "adapters/discord/discord_adapter.hpp"
#include "adapters/discord/discord_messages.hpp"
#include "tests/adapters/discord_stand_in.hpp"
#include "tests/support/replay_store.hpp"
#include "tests/support/http_test_client.hpp"

namespace asio = boost::asio;
using nlohmann::json;
using namespace opsgate;
using namespace opsgate::adapters::discord;
using opsgate::test::DiscordStandIn;
using opsgate::test::Ed25519Signer;
using opsgate::test::RestCall;

namespace {

constexpr const char* kApp = "120000000000000001";
constexpr const char* kGuild = "110000000000000001";
constexpr const char* kChannel = "140000000000000001";
constexpr const char* kAlice = "150000000000000001";  // the requester
constexpr const char* kBob = "150000000000000002";    // a second member
constexpr const char* kSreRole = "170000000000000001";

// Stands in for the pipeline: answers the way it does, through the adapter.
class ScriptedSink final : public EventSink {
 public:
  Adapter* adapter = nullptr;
  asio::awaitable<void> on_event(ChatEvent event) override {
    {
      std::lock_guard lock(mutex);
      events.push_back(event);
    }
    OutboundMessage out;
    out.platform = "discord";
    out.channel = event.channel;
    out.thread = event.thread;
    out.request_id = "r-" + event.message_id;
    if (event.text == "restart cart prod") {
      {
        std::lock_guard lock(mutex);
        request_thread = event.thread;
      }
      out.approval_id = "abcde";
      out.text = "restart cart in prod needs 1 approval from group:sre @everyone";
    } else if (event.text == "approve abcde" && event.principal.id == std::string("discord:") + kAlice) {
      out.text = "⛔ you cannot approve your own request";
    } else if (event.text == "approve abcde") {
      out.thread = request_thread_copy();
      out.approval_id = "abcde";
      out.approval_outcome = "granted";
      out.approval_outcome_text = "approved by " + event.principal.id;
      out.text = "✅ abcde approved by " + event.principal.id + ": running restart cart prod";
    } else if (event.text == "long") {
      std::string text;
      for (int i = 0; i < 90; ++i) {
        text += "line " + std::to_string(i) + " " + std::string(40, 'x') + "\n";
      }
      out.text = text;
    } else if (event.text == "huge") {
      out.text = std::string(30000, 'y');
    } else if (event.text == "silent") {
      ++handled;  // the pipeline had nothing to say in this thread
      co_return;
    } else if (event.text == "explode") {
      throw std::runtime_error("boom (test)");
    } else if (event.text == "slow") {
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(1500));
      co_await timer.async_wait(asio::use_awaitable);
      out.text = "the slow answer";
    } else {
      out.text = "you said: " + event.text;
    }
    co_await adapter->send(std::move(out));
    ++handled;
  }
  std::atomic<int> handled{0};
  std::string request_thread_copy() {
    std::lock_guard lock(mutex);
    return request_thread;
  }
  std::vector<ChatEvent> seen() {
    std::lock_guard lock(mutex);
    return events;
  }
  std::mutex mutex;
  std::vector<ChatEvent> events;
  std::string request_thread;
};

struct Harness {
  DiscordStandIn discord;
  Ed25519Signer signer;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  net::HttpClient http;
  ScriptedSink sink;
  opsgate::SystemClock clock;
  std::unique_ptr<DiscordAdapter> adapter;
  std::unique_ptr<net::HttpServer> server;
  std::thread thread;
  int next_interaction = 1;

  explicit Harness(std::chrono::milliseconds token_lifetime = std::chrono::minutes(14),
                   std::chrono::milliseconds deferred_deadline = std::chrono::minutes(13)) {
    DiscordConfig config;
    config.application_id = kApp;
    config.public_key = signer.public_key_hex();
    config.bot_token = Secret("bot-token-for-tests", "test");
    config.api_base = discord.api_base();
    config.gateway = false;
    config.token_lifetime = token_lifetime;
    config.deferred_deadline = deferred_deadline;
    adapter = make_discord_adapter(config, io.get_executor(), http, clock, opsgate::test::open_replay_store());
    sink.adapter = adapter.get();
    net::HttpServerConfig server_config;
    server_config.listen = "127.0.0.1:0";
    server_config.drain_timeout = std::chrono::seconds(1);
    server = std::make_unique<net::HttpServer>(io.get_executor(), server_config);
    adapter->install_routes(*server, sink);
    REQUIRE(server->start());
    thread = std::thread([this] { io.run(); });
  }

  ~Harness() {
    std::promise<void> done;
    asio::co_spawn(io, server->stop(), [&done](std::exception_ptr) { done.set_value(); });
    done.get_future().wait_for(std::chrono::seconds(10));
    work.reset();
    io.stop();
    thread.join();
  }

  std::optional<test::TestResponse> post_raw(const std::string& body, const std::string& timestamp,
                                             const std::optional<std::string>& signature) {
    test::HttpTestConnection connection(server->local_port());
    std::string request = std::string("POST ") + kInteractionsPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    if (!timestamp.empty()) {
      request += "X-Signature-Timestamp: " + timestamp + "\r\n";
    }
    if (signature) {
      request += "X-Signature-Ed25519: " + *signature + "\r\n";
    }
    request += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    if (!connection.send(request)) {
      return std::nullopt;
    }
    return connection.read_response();
  }

  test::TestResponse post(const json& interaction) {
    const std::string body = interaction.dump();
    const std::string timestamp = std::to_string(std::time(nullptr));
    auto response = post_raw(body, timestamp, signer.sign_hex(timestamp + body));
    REQUIRE(response);
    return *response;
  }

  json command(const std::string& user, const std::string& text) {
    const std::string id = "13000000000000000" + std::to_string(next_interaction++);
    return json{{"id", id},
                {"application_id", kApp},
                {"type", 2},
                {"token", "tok-" + id},
                {"version", 1},
                {"guild_id", kGuild},
                {"channel_id", kChannel},
                {"member", {{"user", {{"id", user}, {"username", "user" + user.substr(user.size() - 1)}}}, {"roles", {kSreRole}}}},
                {"data", {{"id", "1"}, {"name", "ops"}, {"type", 1}, {"options", {{{"name", "text"}, {"type", 3}, {"value", text}}}}}}};
  }

  json click(const std::string& user, const std::string& custom_id, const std::string& message_id) {
    const std::string id = "13100000000000000" + std::to_string(next_interaction++);
    return json{{"id", id},
                {"application_id", kApp},
                {"type", 3},
                {"token", "tok-" + id},
                {"version", 1},
                {"guild_id", kGuild},
                {"channel_id", kChannel},
                {"member", {{"user", {{"id", user}, {"username", "bob"}}}, {"roles", {kSreRole}}}},
                {"message", {{"id", message_id}, {"content", "restart cart in prod needs 1 approval"}}},
                {"data", {{"custom_id", custom_id}, {"component_type", 2}}}};
  }
};

bool has_call(const std::vector<RestCall>& calls, const std::string& method, const std::string& path_prefix) {
  for (const auto& c : calls) {
    if (c.method == method && c.path.rfind(path_prefix, 0) == 0) {
      return true;
    }
  }
  return false;
}

const RestCall* find_call(const std::vector<RestCall>& calls, const std::string& method, const std::string& path_prefix) {
  for (const auto& c : calls) {
    if (c.method == method && c.path.rfind(path_prefix, 0) == 0) {
      return &c;
    }
  }
  return nullptr;
}

}  // namespace

TEST_SUITE("adapters/discord") {
  TEST_CASE("a correctly signed PING gets PONG, bad, altered, missing and malformed signatures get 401") {
    Harness h;
    const std::string body = R"({"id":"1","application_id":"120000000000000001","type":1,"token":"t","version":1})";
    const std::string ts = std::to_string(std::time(nullptr));
    const auto good = h.post_raw(body, ts, h.signer.sign_hex(ts + body));
    REQUIRE(good);
    CHECK(good->status == 200);
    CHECK(json::parse(good->body) == json{{"type", 1}});

    Ed25519Signer stranger;
    const auto other_key = h.post_raw(body, ts, stranger.sign_hex(ts + body));
    REQUIRE(other_key);
    CHECK(other_key->status == 401);

    const std::string altered = R"({"id":"1","application_id":"120000000000000001","type":2,"token":"t","version":1})";
    const auto changed = h.post_raw(altered, ts, h.signer.sign_hex(ts + body));
    REQUIRE(changed);
    CHECK(changed->status == 401);

    const auto other_time = h.post_raw(body, ts + "1", h.signer.sign_hex(ts + body));
    REQUIRE(other_time);
    CHECK(other_time->status == 401);

    const auto no_signature = h.post_raw(body, ts, std::nullopt);
    REQUIRE(no_signature);
    CHECK(no_signature->status == 401);

    const auto no_timestamp = h.post_raw(body, "", h.signer.sign_hex(body));
    REQUIRE(no_timestamp);
    CHECK(no_timestamp->status == 401);

    const auto not_hex = h.post_raw(body, ts, std::string(128, 'z'));
    REQUIRE(not_hex);
    CHECK(not_hex->status == 401);
    CHECK(h.sink.seen().empty());
  }

  TEST_CASE("/ops is deferred at once (type 5) and its answer replaces the deferred message through the webhook") {
    Harness h;
    const json command = h.command(kAlice, "hello there");
    const auto response = h.post(command);
    CHECK(response.status == 200);
    CHECK(json::parse(response.body)["type"] == 5);
    const std::string token = command["token"];
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "PATCH", "/webhooks/"); }));
    const auto calls = h.discord.calls();
    const RestCall* edit = find_call(calls, "PATCH", std::string("/webhooks/") + kApp + "/" + token + "/messages/@original");
    REQUIRE(edit != nullptr);
    CHECK(edit->json()["content"] == "you said: hello there");
    CHECK(edit->json()["allowed_mentions"] == json{{"parse", json::array()}});
    CHECK(edit->header("Authorization").empty());  // interaction webhooks need no bot token
    const auto events = h.sink.seen();
    REQUIRE(events.size() == 1);
    CHECK(events[0].principal.id == std::string("discord:") + kAlice);
    CHECK(events[0].principal.groups == std::vector<std::string>{std::string("discord:role:") + kSreRole});
    CHECK(events[0].workspace == kGuild);
    CHECK(events[0].addressed);
  }

  TEST_CASE("a deferred /ops is completed whatever happens: no answer, a failure, an exception, or too slow") {
    Harness h(std::chrono::minutes(14), std::chrono::milliseconds(300));
    const auto original = [&](const json& command) {
      return std::string("/webhooks/") + kApp + "/" + command["token"].get<std::string>() + "/messages/@original";
    };
    const json silent = h.command(kBob, "silent");
    CHECK(json::parse(h.post(silent).body)["type"] == 5);
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "PATCH", original(silent)); }));
    CHECK(find_call(h.discord.calls(), "PATCH", original(silent))->json()["content"].get<std::string>().find(
              "nothing more to say here") != std::string::npos);

    const json explode = h.command(kBob, "explode");
    CHECK(json::parse(h.post(explode).body)["type"] == 5);
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "PATCH", original(explode)); }));
    const std::string failed = find_call(h.discord.calls(), "PATCH", original(explode))->json()["content"];
    CHECK(failed.find("failed while handling this request") != std::string::npos);
    CHECK(failed.find("boom") == std::string::npos);  // internals stay in the log

    // Too slow: "still working" before the token dies, then the answer as a follow-up.
    const json slow = h.command(kBob, "slow");
    CHECK(json::parse(h.post(slow).body)["type"] == 5);
    const std::string follow_up = std::string("/webhooks/") + kApp + "/" + slow["token"].get<std::string>() + "?wait=true";
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "POST", follow_up); }));
    const auto calls = h.discord.calls();
    REQUIRE(find_call(calls, "PATCH", original(slow)) != nullptr);
    CHECK(find_call(calls, "PATCH", original(slow))->json()["content"].get<std::string>().find("Still working") !=
          std::string::npos);
    CHECK(find_call(calls, "POST", follow_up)->json()["content"] == "the slow answer");
    // Each deferred message was completed exactly once.
    for (const json* c : {&silent, &explode, &slow}) {
      CHECK(std::count_if(calls.begin(), calls.end(), [&](const RestCall& call) {
              return call.method == "PATCH" && call.path == original(*c);
            }) == 1);
    }
  }

  TEST_CASE("an approval request carries Approve/Deny buttons, a second member's click updates it (type 7, buttons gone)") {
    Harness h;
    const json command = h.command(kAlice, "restart cart prod");
    CHECK(json::parse(h.post(command).body)["type"] == 5);
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "PATCH", "/webhooks/"); }));
    const RestCall request = *find_call(h.discord.calls(), "PATCH", "/webhooks/");
    const json buttons = request.json()["components"][0]["components"];
    REQUIRE(buttons.size() == 2);
    CHECK(buttons[0]["custom_id"] == "approve:abcde");
    CHECK(buttons[0]["style"] == 3);
    CHECK(buttons[1]["custom_id"] == "deny:abcde");
    CHECK(request.json()["allowed_mentions"] == json{{"parse", json::array()}});  // "@everyone" in it pings nobody

    const auto answer = h.post(h.click(kBob, "approve:abcde", "900000000000000001"));
    CHECK(answer.status == 200);
    const json update = json::parse(answer.body);
    CHECK(update["type"] == 7);
    CHECK(update["data"]["components"] == json::array());
    const std::string content = update["data"]["content"];
    CHECK(content.find("Approved") != std::string::npos);
    CHECK(content.find(std::string("<@") + kBob + ">") != std::string::npos);
    CHECK(update["data"]["allowed_mentions"] == json{{"parse", json::array()}});
    // The outcome text goes to the requester's thread as a follow-up.
    const std::string follow_up = std::string("/webhooks/") + kApp + "/" + command["token"].get<std::string>() + "?wait=true";
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "POST", follow_up); }));
    CHECK(find_call(h.discord.calls(), "POST", follow_up)->json()["content"].get<std::string>().find("approved by <@") !=
          std::string::npos);
    const auto events = h.sink.seen();
    REQUIRE(events.size() == 2);
    CHECK(events[1].text == "approve abcde");
    CHECK(events[1].principal.id == std::string("discord:") + kBob);
  }

  TEST_CASE("the requester's own click is answered privately with the refusal, the buttons stay") {
    Harness h;
    CHECK(json::parse(h.post(h.command(kAlice, "restart cart prod")).body)["type"] == 5);
    const auto answer = h.post(h.click(kAlice, "approve:abcde", "900000000000000001"));
    const json reply = json::parse(answer.body);
    CHECK(reply["type"] == 4);
    CHECK(reply["data"]["flags"] == 64);
    CHECK(reply["data"]["content"].get<std::string>().find("cannot approve your own") != std::string::npos);
  }

  TEST_CASE("a button that is not opsgate's is refused without an event") {
    Harness h;
    const json reply = json::parse(h.post(h.click(kBob, "approve:../../x", "9")).body);
    CHECK(reply["type"] == 4);
    CHECK(h.sink.seen().empty());
  }

  TEST_CASE("after the interaction token's life the answer is a channel message with the bot token") {
    Harness h(std::chrono::milliseconds(0));
    CHECK(json::parse(h.post(h.command(kAlice, "late")).body)["type"] == 5);
    const std::string path = std::string("/channels/") + kChannel + "/messages";
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return has_call(calls, "POST", path); }));
    const auto calls = h.discord.calls();
    const RestCall* message = find_call(calls, "POST", path);
    REQUIRE(message != nullptr);
    CHECK(message->json()["content"] == "you said: late");
    CHECK(message->header("Authorization") == "Bot bot-token-for-tests");
    CHECK(message->header("User-Agent").rfind("DiscordBot (", 0) == 0);
  }

  TEST_CASE("a long answer is split at line breaks into messages of at most 2000 characters") {
    Harness h;
    const json command = h.command(kAlice, "long");
    h.post(command);
    REQUIRE(h.discord.wait_for([&](const auto& calls) { return calls.size() >= 3; }));
    const auto calls = h.discord.calls();
    std::string joined;
    for (const auto& call : calls) {
      const std::string content = call.json()["content"];
      CHECK(content.size() <= 2000);
      CHECK(call.json()["allowed_mentions"] == json{{"parse", json::array()}});
      joined += content + "\n";
    }
    CHECK(calls[0].method == "PATCH");
    CHECK(calls[1].method == "POST");
    CHECK(joined.find("line 0 ") == 0);
    CHECK(joined.find("line 89 ") != std::string::npos);
  }

  TEST_CASE("a huge answer is cut after five messages, saying how much was left out") {
    Harness h;
    h.post(h.command(kAlice, "huge"));
    for (int i = 0; i < 500 && h.sink.handled == 0; ++i) {  // until the reply is fully sent
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(h.sink.handled == 1);
    const auto calls = h.discord.calls();
    CHECK(calls.size() == 5);
    const std::string last = calls.back().json()["content"];
    CHECK(last.size() <= 2000);
    CHECK(last.find("more characters not shown") != std::string::npos);
  }
}

// --- the REST client's rate limits, and the pure parts --------------------------

#include "adapters/discord/discord_rest.hpp"

namespace {

template <class T>
T run_coroutine(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) {
      result.emplace(std::move(value));
    }
  });
  io.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*result);
}

asio::awaitable<std::string> post_error(DiscordRest& rest, std::string path) {
  auto response = co_await rest.call("POST", path, R"({"content":"x"})");
  co_return response ? std::string("HTTP ") + std::to_string(response->status) : response.error().message;
}

asio::awaitable<std::vector<int>> post_messages(DiscordRest& rest, std::vector<std::string> paths) {
  std::vector<int> statuses;
  for (auto& path : paths) {
    std::string method = "POST";
    std::string body = R"({"content":"x","allowed_mentions":{"parse":[]}})";
    auto response = co_await rest.call(method, path, body);
    statuses.push_back(response ? response->status : -1);
  }
  co_return statuses;
}

DiscordRestOptions rest_options(const DiscordStandIn& discord) {
  DiscordRestOptions options;
  options.api_base = discord.api_base();
  options.bot_token = Secret("bot-token-for-tests", "test");
  return options;
}

}  // namespace

TEST_SUITE("adapters/discord/rest") {
  TEST_CASE("a failed follow-up's error names the route, never the interaction token of its path") {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    DiscordRestOptions options;
    options.api_base = "http://127.0.0.1:1/api/v10";
    net::HttpClient http;
    DiscordRest rest(http, options);
    const std::string token = "aW50ZXJhY3Rpb246c2VjcmV0LXRva2VuLWZvci10ZXN0cw";
    for (const std::string& path : {"/webhooks/120000000000000001/" + token + "?wait=true",
                                    "/webhooks/120000000000000001/" + token + "/messages/@original",
                                    "/interactions/130000000000000001/" + token + "/callback"}) {
      const std::string error = run_coroutine(post_error(rest, path));
      INFO(error);
      CHECK(error.find("cannot connect") != std::string::npos);
      CHECK(error.find(token) == std::string::npos);
      CHECK(error.find("{token}") != std::string::npos);
    }
  }

  TEST_CASE("a 429 is retried after retry_after and then succeeds") {
    DiscordStandIn discord;
    auto first = std::make_shared<std::atomic<bool>>(true);
    discord.script([first](const RestCall& call) -> std::optional<test::RestReply> {
      if (call.path == "/channels/1/messages" && first->exchange(false)) {
        return test::RestReply{429, R"({"message":"You are being rate limited.","retry_after":0.05,"global":false})",
                               {{"X-RateLimit-Scope", "user"}}};
      }
      return std::nullopt;
    });
    net::HttpClient http;
    DiscordRest rest(http, rest_options(discord));
    const auto statuses = run_coroutine(post_messages(rest, {"/channels/1/messages"}));
    CHECK(statuses == std::vector<int>{200});
    CHECK(discord.calls().size() == 2);
    CHECK(rest.stats().retries_after_429 == 1);
  }

  TEST_CASE("an empty bucket holds the next request on that route and major parameter only") {
    DiscordStandIn discord;
    discord.script([](const RestCall& call) -> std::optional<test::RestReply> {
      if (call.path.rfind("/channels/", 0) == 0) {
        return test::RestReply{200, R"({"id":"1"})",
                               {{"X-RateLimit-Bucket", "abcd"}, {"X-RateLimit-Limit", "1"}, {"X-RateLimit-Remaining", "0"},
                                {"X-RateLimit-Reset-After", "0.05"}}};
      }
      return std::nullopt;
    });
    net::HttpClient http;
    DiscordRest rest(http, rest_options(discord));
    const auto first = run_coroutine(post_messages(rest, {"/channels/1/messages", "/channels/2/messages"}));
    CHECK(first == std::vector<int>{200, 200});
    CHECK(rest.stats().bucket_waits == 0);  // another channel: another bucket
    const auto second = run_coroutine(post_messages(rest, {"/channels/1/messages"}));
    CHECK(second == std::vector<int>{200});
    CHECK(rest.stats().bucket_waits == 1);
    CHECK(discord.calls().size() == 3);
    CHECK(discord.calls()[0].header("Authorization") == "Bot bot-token-for-tests");
  }

  TEST_CASE("a global 429 pauses every route, a pause longer than max_wait fails instead of hanging") {
    DiscordStandIn discord;
    auto first = std::make_shared<std::atomic<bool>>(true);
    discord.script([first](const RestCall& call) -> std::optional<test::RestReply> {
      if (call.path == "/channels/1/messages" && first->exchange(false)) {
        return test::RestReply{429, R"({"message":"global","retry_after":0.05,"global":true})", {{"X-RateLimit-Global", "true"}}};
      }
      if (call.path == "/channels/9/messages") {
        return test::RestReply{429, R"({"message":"slow down","retry_after":30,"global":false})", {}};
      }
      return std::nullopt;
    });
    net::HttpClient http;
    auto options = rest_options(discord);
    options.max_wait = std::chrono::milliseconds(200);
    DiscordRest rest(http, options);
    const auto statuses = run_coroutine(post_messages(rest, {"/channels/1/messages"}));
    CHECK(statuses == std::vector<int>{200});
    CHECK(rest.stats().global_waits >= 1);
    const auto refused = run_coroutine(post_messages(rest, {"/channels/9/messages", "/channels/9/messages"}));
    CHECK(refused == std::vector<int>{-1, -1});  // 30 s > max_wait: an error, not a hang
    CHECK(discord.calls().size() == 3);          // the second was not even sent
  }

  TEST_CASE("route keys generalise ids but keep the major parameter") {
    const auto a = route_key("POST", "/channels/140000000000000001/messages");
    const auto b = route_key("POST", "/channels/140000000000000002/messages");
    CHECK(a.route == b.route);
    CHECK(a.major != b.major);
    const auto c = route_key("PATCH", "/channels/1/messages/900000000000000001");
    CHECK(c.route == "PATCH /channels/{major}/messages/{id}");
    const auto w = route_key("PATCH", "/webhooks/12/tok-abc/messages/@original");
    CHECK(w.major == "webhooks/12/tok-abc");
    CHECK(route_key("POST", "/interactions/1/tok/callback").route == "POST /interactions/{id}/{token}/callback");
  }
}

TEST_SUITE("adapters/discord/messages") {
  TEST_CASE("content is split within 2000 bytes without breaking a UTF-8 character") {
    std::string text(1999, 'a');
    text += "é";  // two bytes across the limit
    text += std::string(100, 'b');
    const auto pieces = split_content(text);
    REQUIRE(pieces.size() == 2);
    CHECK(pieces[0].size() == 1999);
    CHECK(pieces[1].rfind("é", 0) == 0);
    CHECK(pieces[0] + pieces[1] == text);
    CHECK(split_content("short") == std::vector<std::string>{"short"});
    CHECK(split_content("").empty());
  }

  TEST_CASE("custom ids: approve/deny with a plain id only") {
    CHECK(parse_custom_id("approve:k3x9p")->approve);
    CHECK(parse_custom_id("deny:k3x9p")->approval_id == "k3x9p");
    CHECK_FALSE(parse_custom_id("deny:k3x9p")->approve);
    CHECK_FALSE(parse_custom_id("approve:"));
    CHECK_FALSE(parse_custom_id("approve:a b"));
    CHECK_FALSE(parse_custom_id("run:k3x9p"));
  }

  TEST_CASE("gateway messages: mentions and DMs become events, the rest is ignored") {
    const json mention = {{"id", "5"},         {"channel_id", "7"},  {"guild_id", "8"},
                          {"content", "<@999> restart cart staging"},
                          {"author", {{"id", "42"}, {"username", "alice"}}},
                          {"member", {{"roles", {"171"}}}},
                          {"mentions", {{{"id", "999"}}}}};
    const auto event = gateway_message_event(mention, "999");
    REQUIRE(event);
    CHECK(event->text == "restart cart staging");
    CHECK(event->principal.id == "discord:42");
    CHECK(event->principal.groups == std::vector<std::string>{"discord:role:171"});
    CHECK(event->thread == "message:5");
    json not_addressed = mention;
    not_addressed["mentions"] = json::array();
    CHECK_FALSE(gateway_message_event(not_addressed, "999"));
    json dm = not_addressed;
    dm.erase("guild_id");
    dm.erase("member");
    CHECK(gateway_message_event(dm, "999"));
    json from_bot = mention;
    from_bot["author"]["bot"] = true;
    CHECK_FALSE(gateway_message_event(from_bot, "999"));
    CHECK_FALSE(gateway_message_event(json("nonsense"), "999"));
  }

  TEST_CASE("interactions: malformed bodies are refused without throwing") {
    CHECK_FALSE(parse_interaction("{"));
    CHECK_FALSE(parse_interaction("[1]"));
    CHECK_FALSE(parse_interaction(R"({"type":"1"})"));
    const auto dm = parse_interaction(R"({"type":2,"id":"1","user":{"id":"42","username":"a"},"data":{"name":"ops","options":[{"name":"text","type":3,"value":"help"}]}})");
    REQUIRE(dm);
    CHECK(dm->user_id == "42");
    CHECK(dm->command_text == "help");
    CHECK(dm->roles.empty());
    CHECK(mention_principals("approved by discord:150000000000000002") == "approved by <@150000000000000002>");
  }

  TEST_CASE("echoed @everyone, @here, user, role and channel mentions render as text, opsgate's own mentions stay") {
    const std::string out =
        mention_principals("alert: @everyone @here <@150000000000000009> <@!150000000000000009> <@&160000000000000001> "
                           "<#170000000000000001> approved by discord:150000000000000002");
    INFO(out);
    for (const char* live : {"@everyone", "@here", "<@150000000000000009>", "<@!1", "<@&1", "<#1"}) {
      CHECK(out.find(live) == std::string::npos);
    }
    CHECK(out.find("@\u200beveryone") != std::string::npos);
    CHECK(out.find("<\u200b@&160000000000000001>") != std::string::npos);
    CHECK(out.find("approved by <@150000000000000002>") != std::string::npos);
    CHECK(outcome_line("denied", "by discord:150000000000000002: @everyone").find("@everyone") == std::string::npos);
    CHECK(neutralise_mentions("mail me at ops@example.com <3 <@") == "mail me at ops@example.com <3 <@");
  }
}
