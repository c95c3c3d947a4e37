#include <doctest/doctest.h>

#include <fstream>
#include <mutex>
#include <atomic>
#include <thread>

#include "adapters/teams/activity.hpp"
#include "adapters/teams/cards.hpp"
#include "adapters/teams/connector_client.hpp"
#include "adapters/teams/teams_adapter.hpp"
#include "src/net/http_client.hpp"
#include "tests/support/replay_store.hpp"
#include "tests/support/http_test_client.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/teams_stand_in.hpp"
#include "src/core/json_get.hpp"

namespace teams = opsgate::adapters::teams;
using opsgate::test::bot_claims;
using opsgate::test::json;
using opsgate::test::MovableClock;
using opsgate::test::RsaSigner;
using opsgate::test::run_on;
using opsgate::test::TeamsStandIn;

namespace {

constexpr const char* kAppId = "00000000-aaaa-bbbb-cccc-000000000001";
constexpr const char* kBotId = "28:00000000-aaaa-bbbb-cccc-000000000001";
constexpr const char* kAlice = "6f1c2d3e-0000-4000-8000-123456789abc";
constexpr const char* kBob = "0b0b0b0b-0000-4000-8000-0000000000b0";
constexpr const char* kChannelConversation = "19:abc@thread.tacv2;messageid=1767225600000";
constexpr const char* kPersonalConversation = "a:1personal-chat-with-alice";

// Records events; the test answers them through the adapter itself.
class RecordingSink final : public opsgate::EventSink {
 public:
  boost::asio::awaitable<void> on_event(opsgate::ChatEvent event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    co_return;
  }
  // Waits (bounded) for the n-th event.
  std::optional<opsgate::ChatEvent> wait_for(std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (events_.size() >= n) {
          return events_[n - 1];
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  // Waits for the n-th event and says whether it is the one in `thread`. Events
  // are handed on in the order their requests were answered, so a marker posted
  // after a request that must have no effect arriving as event n proves that
  // request made no event: a positive signal, where sleeping and counting would
  // pass on a slow machine whatever the adapter did.
  bool nth_is(std::size_t n, const std::string& thread) {
    const auto event = wait_for(n);
    return event && event->thread == thread && count() == n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<opsgate::ChatEvent> events_;
};

// The adapter behind a real HttpServer on 127.0.0.1:0, against the stand-ins.
struct Fixture {
  TeamsStandIn microsoft{kAppId, "s3cret"};
  const RsaSigner& signer = opsgate::test::shared_signer();
  MovableClock clock;
  opsgate::net::HttpClient http;
  RecordingSink sink;
  boost::asio::io_context server_io;
  std::unique_ptr<opsgate::net::HttpServer> server;
  std::unique_ptr<teams::TeamsAdapter> adapter;
  std::thread server_thread;
  boost::asio::io_context io;  // for the test's own calls into the adapter

  explicit Fixture(std::function<void(teams::TeamsConfig&)> tweak = {}) {
    microsoft.publish({signer.jwk()});
    microsoft.add_conversation(kChannelConversation, {"1767225600123", "m-2", "m-3"});
    microsoft.add_conversation(kPersonalConversation, {"p-1", "p-2"});
    teams::TeamsConfig config;
    config.app_id = kAppId;
    config.app_password = opsgate::Secret("s3cret", "test");
    config.openid_metadata_url = microsoft.metadata_url();
    config.token_url = microsoft.token_url();
    // Loopback only because the test lists it explicitly; Microsoft's hosts stay allowed.
    config.service_hosts = teams::kDefaultServiceHosts;
    config.service_hosts.push_back("127.0.0.1");
    config.retry_base = std::chrono::milliseconds(5);
    if (tweak) {
      tweak(config);
    }
    opsgate::net::HttpServerConfig server_config;
    server_config.listen = "127.0.0.1:0";
    server_config.drain_timeout = std::chrono::seconds(1);
    server = std::make_unique<opsgate::net::HttpServer>(server_io.get_executor(), server_config);
    adapter = teams::make_teams_adapter(config, server_io.get_executor(), http, clock, opsgate::test::open_replay_store());
    adapter->install_routes(*server, sink);
    REQUIRE(server->start());
    server_thread = std::thread([this] { server_io.run(); });
  }

  ~Fixture() {
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    boost::asio::co_spawn(server_io, server->stop(), [done](std::exception_ptr) { done->set_value(); });
    stopped.wait_for(std::chrono::seconds(10));
    server_io.stop();
    server_thread.join();
  }

  json message(const std::string& id, const std::string& conversation, const std::string& conversation_type,
               const std::string& aad, const std::string& text, std::string service_url = "") const {
    json activity = {{"type", "message"},
                     {"id", id},
                     {"channelId", "msteams"},
                     {"serviceUrl", service_url.empty() ? microsoft.service_url() : service_url},
                     {"from", {{"id", "29:" + aad}, {"name", aad == kAlice ? "Alice" : "Bob"}, {"aadObjectId", aad}}},
                     {"recipient", {{"id", kBotId}, {"name", "OpsGate"}}},
                     {"conversation", {{"id", conversation}, {"conversationType", conversation_type}, {"tenantId", "72f9"}}},
                     {"text", text}};
    if (conversation_type == "channel") {
      activity["channelData"] = {{"tenant", {{"id", "72f9"}}}, {"team", {{"id", "19:team@thread.tacv2"}}},
                                 {"channel", {{"id", "19:abc@thread.tacv2"}}}};
    }
    if (text.find("<at>OpsGate</at>") != std::string::npos) {
      activity["entities"] = json::array(
          {{{"type", "mention"}, {"text", "<at>OpsGate</at>"}, {"mentioned", {{"id", kBotId}, {"name", "OpsGate"}}}}});
    }
    return activity;
  }

  json invoke(const std::string& id, const std::string& aad, const std::string& verb, const std::string& approval_id,
              const std::string& card_id) const {
    json activity = message(id, kChannelConversation, "channel", aad, "");
    activity["type"] = "invoke";
    activity["name"] = "adaptiveCard/action";
    activity["replyToId"] = card_id;
    activity["value"] = {{"action", {{"type", "Action.Execute"}, {"verb", verb}, {"data", {{"opsgate", verb}, {"id", approval_id}}}}},
                         {"trigger", "manual"}};
    return activity;
  }

  std::string token_for(const json& activity) const {
    return signer.sign(bot_claims(kAppId, opsgate::json_get::string_at(activity, "serviceUrl"), clock.seconds()));
  }

  std::optional<opsgate::test::TestResponse> post(const json& activity, const std::string& token) {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!token.empty()) {
      headers.emplace_back("Authorization", "Bearer " + token);
    }
    return opsgate::test::http_request(server->local_port(), "POST", "/api/messages", activity.dump(), headers);
  }
  std::optional<opsgate::test::TestResponse> post(const json& activity) { return post(activity, token_for(activity)); }

  void send(opsgate::OutboundMessage message) { run_on(io, send_task(adapter.get(), std::move(message))); }

  static boost::asio::awaitable<bool> send_task(teams::TeamsAdapter* target, opsgate::OutboundMessage message) {
    co_await target->send(std::move(message));
    co_return true;
  }

  // The path the connector stand-in sees for a conversation (and activity).
  static std::string path(const std::string& conversation, const std::string& activity = "") {
    return "/v3/conversations/" + teams::percent_encode(conversation) + "/activities" +
           (activity.empty() ? "" : "/" + teams::percent_encode(activity));
  }
};

// What the call threw ("" when it did not throw).
std::string thrown(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

opsgate::OutboundMessage reply_to(const opsgate::ChatEvent& event, std::string text) {
  opsgate::OutboundMessage m;
  m.platform = "teams";
  m.channel = event.channel;
  m.thread = event.thread;
  m.text = std::move(text);
  return m;
}

}  // namespace

TEST_SUITE("adapters/teams") {
  TEST_CASE("a channel mention becomes an event and the reply goes to its thread with one cached token") {
    Fixture f;
    const json activity =
        f.message("1767225600123", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> restart cart in staging");
    const auto response = f.post(activity);
    REQUIRE(response);
    CHECK(response->status == 200);
    const auto event = f.sink.wait_for(1);
    REQUIRE(event);
    CHECK(event->platform == "teams");
    CHECK(event->text == "restart cart in staging");
    CHECK(event->principal.id == std::string("teams:aad:") + kAlice);
    CHECK(event->principal.display_name == "Alice");
    CHECK(event->channel == kChannelConversation);
    CHECK(event->thread == "1767225600123");
    CHECK(event->workspace == "72f9");
    CHECK(event->addressed);
    CHECK(std::find(event->principal.groups.begin(), event->principal.groups.end(), "teams:team:19:team@thread.tacv2") !=
          event->principal.groups.end());

    f.send(reply_to(*event, "restarted cart in staging"));
    opsgate::OutboundMessage result = reply_to(*event, "restarted cart in staging (3/3 pods replaced)");
    result.action = "restart";
    result.data = {{"target", "cart"}, {"env", "staging"}, {"replaced", 3}};
    f.send(result);
    auto calls = f.microsoft.calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].method == "POST");
    CHECK(calls[0].path == Fixture::path(kChannelConversation, "1767225600123"));
    CHECK(calls[0].authorization == "Bearer bf-token-1");
    CHECK(calls[0].body["replyToId"] == "1767225600123");
    CHECK(calls[0].body["text"] == "restarted cart in staging");
    CHECK_FALSE(calls[0].body.contains("attachments"));
    // A result renders as an Adaptive Card 1.5 with the text as fallback.
    const json& card = calls[1].body["attachments"][0];
    CHECK(card["contentType"] == "application/vnd.microsoft.card.adaptive");
    CHECK(card["content"]["version"] == "1.5");
    CHECK(card["content"]["fallbackText"] == "restarted cart in staging (3/3 pods replaced)");
    CHECK(card["content"]["body"][1]["type"] == "FactSet");
    CHECK(calls[1].authorization == "Bearer bf-token-1");
    CHECK(f.microsoft.token_requests() == 1);  // cached
    CHECK(f.adapter->token_fetches() == 1);
    const std::string form = f.microsoft.last_token_form();
    CHECK(form.find("grant_type=client_credentials") != std::string::npos);
    CHECK(form.find(std::string("client_id=") + kAppId) != std::string::npos);
    CHECK(form.find("scope=https%3A%2F%2Fapi.botframework.com%2F.default") != std::string::npos);

    // A redelivery of the same activity is not a second event: the next message is.
    CHECK(f.post(activity)->status == 200);
    REQUIRE(f.post(f.message("m-3", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> help"))->status == 200);
    CHECK(f.sink.nth_is(2, "m-3"));
  }

  TEST_CASE("the token is renewed shortly before it expires") {
    Fixture f;
    f.microsoft.set_token_lifetime(3600);
    const json activity = f.message("p-1", kPersonalConversation, "personal", kAlice, "help");
    REQUIRE(f.post(activity)->status == 200);
    const auto event = f.sink.wait_for(1);
    REQUIRE(event);
    f.send(reply_to(*event, "one"));
    f.clock.advance(std::chrono::seconds(3000));
    f.send(reply_to(*event, "two"));
    CHECK(f.microsoft.token_requests() == 1);
    f.clock.advance(std::chrono::seconds(400));  // within 5 minutes of expiry
    f.send(reply_to(*event, "three"));
    CHECK(f.microsoft.token_requests() == 2);
    CHECK(f.microsoft.calls().back().authorization == "Bearer bf-token-2");
  }

  TEST_CASE("personal and group chats work, a personal chat is addressed without a mention") {
    Fixture f;
    f.microsoft.add_conversation("19:group-chat@thread.v2", {"g-1"});
    REQUIRE(f.post(f.message("p-1", kPersonalConversation, "personal", kAlice, "whoami"))->status == 200);
    REQUIRE(f.post(f.message("g-1", "19:group-chat@thread.v2", "groupChat", kBob, "<at>OpsGate</at> help"))->status == 200);
    const auto personal = f.sink.wait_for(1);
    const auto group = f.sink.wait_for(2);
    REQUIRE(personal);
    REQUIRE(group);
    const auto& p = personal->thread == "p-1" ? *personal : *group;
    const auto& g = personal->thread == "p-1" ? *group : *personal;
    CHECK(p.text == "whoami");
    CHECK(p.addressed);
    CHECK(g.text == "help");
    CHECK(g.addressed);
    CHECK(g.principal.id == std::string("teams:aad:") + kBob);
    f.send(reply_to(g, "hello group"));
    CHECK(f.microsoft.calls().back().path == Fixture::path("19:group-chat@thread.v2", "g-1"));
  }

  TEST_CASE("requests without a valid token get 401 and reach nobody") {
    Fixture f;
    const json activity = f.message("m-2", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> restart cart in prod");
    CHECK(f.post(activity, "")->status == 401);
    CHECK(f.post(activity, "not.a.jwt")->status == 401);
    CHECK(f.post(activity, opsgate::test::unsigned_token(bot_claims(kAppId, f.microsoft.service_url(), f.clock.seconds()), "key-1"))->status == 401);
    RsaSigner forger("key-1");
    CHECK(f.post(activity, forger.sign(bot_claims(kAppId, f.microsoft.service_url(), f.clock.seconds())))->status == 401);
    // A token captured for one serviceUrl, replayed with another.
    const std::string captured = f.signer.sign(bot_claims(kAppId, "https://smba.trafficmanager.net/amer/", f.clock.seconds()));
    CHECK(f.post(activity, captured)->status == 401);
    // Replayed after it expired.
    const std::string old = f.token_for(activity);
    f.clock.advance(std::chrono::hours(2));
    CHECK(f.post(activity, old)->status == 401);
    CHECK(f.post(json::parse("[1,2]"), f.token_for(activity))->status == 401);
    CHECK(f.microsoft.calls().empty());
    // A good request afterwards is the first event.
    REQUIRE(f.post(f.message("m-3", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> help"))->status == 200);
    CHECK(f.sink.nth_is(1, "m-3"));
  }

  TEST_CASE("a serviceUrl outside the allow-list never receives the token") {
    Fixture f([](teams::TeamsConfig& c) { c.service_hosts = teams::kDefaultServiceHosts; });  // no loopback
    const json activity = f.message("m-2", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> help");
    const auto response = f.post(activity);
    REQUIRE(response);
    CHECK(response->status == 403);
    CHECK(f.sink.count() == 0);  // refused before an event could be spawned
    opsgate::ChatEvent event;
    event.channel = kChannelConversation;
    event.thread = "m-2";
    CHECK_THROWS(f.send(reply_to(event, "hello")));
    CHECK(f.microsoft.token_requests() == 0);
    CHECK(f.microsoft.calls().empty());

    CHECK(teams::service_url_allowed("https://smba.trafficmanager.net/amer/", teams::kDefaultServiceHosts));
    CHECK(teams::service_url_allowed("https://SMBA.TrafficManager.net:443/emea/", teams::kDefaultServiceHosts));
    CHECK_FALSE(teams::service_url_allowed("http://smba.trafficmanager.net/amer/", teams::kDefaultServiceHosts));
    CHECK_FALSE(teams::service_url_allowed("https://evil-trafficmanager.net/", teams::kDefaultServiceHosts));
    // Only the Bot Framework's own Traffic Manager name: anyone can register another *.trafficmanager.net.
    CHECK_FALSE(teams::service_url_allowed("https://attacker.trafficmanager.net/amer/", teams::kDefaultServiceHosts));
    CHECK_FALSE(teams::service_url_allowed("https://trafficmanager.net.evil.com/", teams::kDefaultServiceHosts));
    CHECK_FALSE(teams::service_url_allowed("https://smba.trafficmanager.net@evil.com/", teams::kDefaultServiceHosts));
    CHECK_FALSE(teams::service_url_allowed("http://127.0.0.1:8080/", teams::kDefaultServiceHosts));
    CHECK(teams::service_url_allowed("http://127.0.0.1:8080/", {"127.0.0.1"}));
    CHECK_FALSE(teams::service_url_allowed("http://127.0.0.2:8080/", {"127.0.0.1"}));
    CHECK_FALSE(teams::service_url_allowed("ftp://x.botframework.com/", teams::kDefaultServiceHosts));
  }

  TEST_CASE("429, 412, 502 and 504 from the connector are retried, other errors are not") {
    Fixture f;
    REQUIRE(f.post(f.message("p-1", kPersonalConversation, "personal", kAlice, "help"))->status == 200);
    const auto event = f.sink.wait_for(1);
    REQUIRE(event);
    f.microsoft.fail_next({429, 412, 502});
    f.send(reply_to(*event, "after three retries"));
    CHECK(f.microsoft.calls().size() == 4);
    f.microsoft.fail_next({504, 504, 504, 504});
    CHECK(thrown([&] { f.send(reply_to(*event, "gives up")); }).find("answered 504") != std::string::npos);
    CHECK(f.microsoft.calls().size() == 8);  // 1 + 3 retries
    f.microsoft.fail_next({400});
    CHECK(thrown([&] { f.send(reply_to(*event, "not retried")); }).find("answered 400") != std::string::npos);
    CHECK(f.microsoft.calls().size() == 9);
    CHECK(teams::is_retryable_status(429));
    CHECK_FALSE(teams::is_retryable_status(500));
  }

  TEST_CASE("a POST the connector processed but answered after the timeout is not sent again, 429 still is") {
    Fixture f([](teams::TeamsConfig& config) { config.api_timeout = std::chrono::milliseconds(200); });
    REQUIRE(f.post(f.message("p-1", kPersonalConversation, "personal", kAlice, "help"))->status == 200);
    const auto event = f.sink.wait_for(1);
    REQUIRE(event);
    f.microsoft.answer_slowly(1, std::chrono::milliseconds(1000));
    const std::string why = thrown([&] { f.send(reply_to(*event, "restarted cart in staging")); });
    CHECK(why.find("did not answer within 200ms") != std::string::npos);
    CHECK(why.find("may or may not have been posted") != std::string::npos);
    CHECK(f.microsoft.calls().size() == 1);  // posted once, never re-sent
    f.microsoft.fail_next({429});
    f.send(reply_to(*event, "after one retry"));
    CHECK(f.microsoft.calls().size() == 3);
  }

  TEST_CASE("an approval card: another user's Action.Execute is a vote, and the decision updates the card") {
    Fixture f;
    const json ask = f.message("1767225600123", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> restart cart in prod");
    REQUIRE(f.post(ask)->status == 200);
    const auto request = f.sink.wait_for(1);
    REQUIRE(request);
    opsgate::OutboundMessage approval = reply_to(*request, "🔐 restart cart in prod — needs 1 approval. Approval id ab12c");
    approval.approval_id = "ab12c";
    f.send(approval);
    auto calls = f.microsoft.calls();
    REQUIRE(calls.size() == 1);
    const json& card = calls[0].body["attachments"][0]["content"];
    REQUIRE(card["actions"].size() == 2);
    CHECK(card["actions"][0]["type"] == "Action.Execute");
    CHECK(card["actions"][0]["verb"] == "approve");
    CHECK(card["actions"][0]["data"]["id"] == "ab12c");
    CHECK(card["actions"][0]["fallback"]["type"] == "Action.Submit");
    CHECK(card["actions"][1]["verb"] == "deny");
    const std::string card_id = "act-1";

    const auto clicked = f.post(f.invoke("m-3", kBob, "approve", "ab12c", card_id));
    REQUIRE(clicked);
    CHECK(clicked->status == 200);
    json answer = json::parse(clicked->body, nullptr, false);
    CHECK(answer["statusCode"] == 200);
    CHECK(answer["type"] == "application/vnd.microsoft.card.adaptive");
    CHECK(answer["value"]["body"].back()["text"].get<std::string>().find("Approval from Bob received") != std::string::npos);
    const auto vote = f.sink.wait_for(2);
    REQUIRE(vote);
    CHECK(vote->text == "approve ab12c");
    CHECK(vote->principal.id == std::string("teams:aad:") + kBob);
    CHECK(vote->thread == card_id);

    // The pipeline's decision: the card loses its buttons and shows the outcome; the text goes in the thread.
    opsgate::OutboundMessage granted = reply_to(*request, "✅ ab12c approved by teams:aad:bob: running restart cart in prod");
    granted.approval_id = "ab12c";
    granted.approval_outcome = "granted";
    granted.approval_outcome_text = "approved by Bob";
    f.send(granted);
    calls = f.microsoft.calls();
    REQUIRE(calls.size() == 3);
    CHECK(calls[1].method == "PUT");
    CHECK(calls[1].path == Fixture::path(kChannelConversation, card_id));
    CHECK(calls[1].authorization == "Bearer bf-token-1");
    const json& updated = calls[1].body["attachments"][0]["content"];
    CHECK_FALSE(updated.contains("actions"));
    CHECK(updated["body"].back()["text"] == "✅ granted: approved by Bob");
    CHECK(calls[2].method == "POST");
    CHECK(calls[2].path == Fixture::path(kChannelConversation, "1767225600123"));
    CHECK(calls[2].body["text"].get<std::string>().find("approved by") != std::string::npos);
  }

  TEST_CASE("the requester's own click is refused inline, and still goes to the pipeline to be audited") {
    Fixture f;
    REQUIRE(f.post(f.message("1767225600123", kChannelConversation, "channel", kAlice, "<at>OpsGate</at> restart cart in prod"))->status == 200);
    const auto request = f.sink.wait_for(1);
    REQUIRE(request);
    opsgate::OutboundMessage approval = reply_to(*request, "approval needed");
    approval.approval_id = "zz99y";
    f.send(approval);
    const auto clicked = f.post(f.invoke("m-3", kAlice, "approve", "zz99y", "act-1"));
    REQUIRE(clicked);
    json answer = json::parse(clicked->body, nullptr, false);
    CHECK(answer["value"]["body"].back()["text"].get<std::string>().find("you cannot approve or deny your own request") != std::string::npos);
    CHECK(answer["value"]["actions"].size() == 2);  // the buttons stay for someone else
    const auto vote = f.sink.wait_for(2);
    REQUIRE(vote);
    CHECK(vote->text == "approve zz99y");
    CHECK(vote->principal.id == std::string("teams:aad:") + kAlice);
  }

  TEST_CASE("the Action.Submit fallback is a vote too, and foreign card actions are refused") {
    Fixture f;
    json submit = f.message("m-2", kChannelConversation, "channel", kBob, "");
    submit["value"] = {{"opsgate", "deny"}, {"id", "ab12c"}};
    REQUIRE(f.post(submit)->status == 200);
    const auto vote = f.sink.wait_for(1);
    REQUIRE(vote);
    CHECK(vote->text == "deny ab12c");
    json foreign = f.invoke("m-3", kBob, "approve", "ab12c", "act-1");
    foreign["value"]["action"]["data"] = {{"something", "else"}};
    foreign["value"]["action"]["verb"] = "launch";
    const auto refused = f.post(foreign);
    REQUIRE(refused);
    CHECK(json::parse(refused->body, nullptr, false)["statusCode"] == 400);
  }

  TEST_CASE("echoed Markdown links, images and <at> mentions render as plain text in every card") {
    const std::string hostile = "see [the runbook](https://evil.example/login) ![x](https://evil.example/p.png) <at>Bob</at>";
    opsgate::OutboundMessage m;
    m.text = "alert: " + hostile + "\n\nlog: " + hostile;
    m.data = {{"annotation", hostile}};
    const auto inert = [](const json& card) {
      const std::string all = card.dump();
      INFO(all);
      CHECK(all.find("](") == std::string::npos);
      CHECK(all.find("<at>") == std::string::npos);
      CHECK(all.find("the runbook") != std::string::npos);
    };
    inert(teams::result_card(m));
    inert(teams::approval_card(hostile, "ap-1"));
    inert(teams::decided_card(hostile, "denied", hostile));
    inert(teams::status_card(hostile, "ap-1", hostile));
  }

  TEST_CASE("mentions of the bot are stripped, other mentions stay") {
    bool mentioned = false;
    const json entities = json::array({{{"type", "mention"}, {"text", "<at>OpsGate</at>"}, {"mentioned", {{"id", kBotId}}}},
                                       {{"type", "mention"}, {"text", "<at>Bob</at>"}, {"mentioned", {{"id", "29:bob"}}}}});
    CHECK(teams::strip_bot_mentions("<at>OpsGate</at> restart cart <at>Bob</at>", entities, kBotId, mentioned) ==
          "restart cart <at>Bob</at>");
    CHECK(mentioned);
    CHECK(teams::strip_bot_mentions("ask <at>OpsGate</at>  to restart", entities, kBotId, mentioned) == "ask to restart");
    CHECK(teams::strip_bot_mentions("no mention", json(), kBotId, mentioned) == "no mention");
    CHECK_FALSE(mentioned);
    CHECK(teams::parse_activity(json::parse(R"({"type":5,"from":[],"conversation":"x","entities":{"a":1}})")).type.empty());
  }

  TEST_CASE("config: required keys, single-tenant defaults and channel groups") {
    const auto parse = [](const std::string& yaml) {
      return teams::parse_teams_config(opsgate::ConfigNode::parse(yaml, "teams.yaml"));
    };
    CHECK(thrown([&] { parse("app_password: x\n"); }).find("app_id") != std::string::npos);
    CHECK(thrown([&] { parse("app_id: a\n"); }).find("app_password") != std::string::npos);
    CHECK(thrown([&] { parse("app_id: a\napp_password: x\nservice_hosts: [https://x.com/]\n"); }).find("not a host suffix") != std::string::npos);
    CHECK(thrown([&] { parse("app_id: a\napp_password: x\npaht: /x\n"); }).find("paht") != std::string::npos);
    const auto multi = parse("app_id: a\napp_password: x\n");
    CHECK(multi.token_url == "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token");
    CHECK(multi.allowed_tenants.empty());
    const auto single = parse("app_id: a\napp_password: x\ntenant: 72f9\nchannel_groups: {\"19:team@thread.tacv2\": [oncall]}\n");
    CHECK(single.token_url == "https://login.microsoftonline.com/72f9/oauth2/v2.0/token");
    CHECK(single.allowed_tenants == std::vector<std::string>{"72f9"});
    CHECK(single.channel_groups.at("19:team@thread.tacv2") == std::vector<std::string>{"oncall"});
  }

  TEST_CASE("a single-tenant bot refuses activities from other tenants") {
    Fixture f([](teams::TeamsConfig& c) { c.allowed_tenants = {"another-tenant"}; });
    CHECK(f.post(f.message("p-1", kPersonalConversation, "personal", kAlice, "help"))->status == 403);
  }

  TEST_CASE("channel_groups vouch configured groups for messages from that team") {
    Fixture f([](teams::TeamsConfig& c) { c.channel_groups["19:team@thread.tacv2"] = {"oncall"}; });
    REQUIRE(f.post(f.message("m-2", kChannelConversation, "channel", kBob, "<at>OpsGate</at> whoami"))->status == 200);
    const auto event = f.sink.wait_for(1);
    REQUIRE(event);
    CHECK(std::find(event->principal.groups.begin(), event->principal.groups.end(), "teams:group:oncall") !=
          event->principal.groups.end());
  }
}

TEST_SUITE("adapters/teams/config") {
  TEST_CASE("the commented Teams block of config/example.yaml, uncommented, is a valid config") {
    std::ifstream in(std::string(OPSGATE_SOURCE_DIR) + "/config/example.yaml");
    std::string line;
    std::string yaml;
    bool inside = false;
    while (std::getline(in, line)) {
      if (line == "  # teams:") {
        inside = true;
      } else if (inside && line.rfind("  #   ", 0) != 0) {
        break;
      }
      if (inside) {
        yaml += line.substr(4) + "\n";
      }
    }
    REQUIRE_FALSE(yaml.empty());
    ::setenv("TEAMS_APP_PASSWORD", "example-secret", 1);
    const auto node = opsgate::ConfigNode::parse(yaml, "example.yaml");
    const auto config = teams::parse_teams_config(node.child("teams"));
    ::unsetenv("TEAMS_APP_PASSWORD");
    CHECK(config.app_password.reveal() == "example-secret");
    CHECK(config.service_hosts == teams::kDefaultServiceHosts);
    CHECK(config.channel_groups.size() == 1);
  }
}

TEST_SUITE("adapters/teams/manifest") {
  TEST_CASE("config/teams/manifest.json is valid JSON whose bot is the app, with its icons beside it") {
    std::ifstream in(std::string(OPSGATE_SOURCE_DIR) + "/config/teams/manifest.json");
    json manifest = json::parse(in, nullptr, false);
    REQUIRE_FALSE(manifest.is_discarded());
    CHECK(manifest["id"] == "{{APP_ID}}");
    CHECK(manifest["bots"][0]["botId"] == "{{APP_ID}}");
    CHECK(manifest["bots"][0]["scopes"] == json::array({"personal", "team", "groupChat"}));
    for (const char* icon : {"color", "outline"}) {
      const std::string file = manifest["icons"][icon];
      CHECK_MESSAGE(std::ifstream(std::string(OPSGATE_SOURCE_DIR) + "/config/teams/" + file).good(), file);
    }
  }
}

TEST_SUITE("adapters/teams") {
  TEST_CASE("signing keys: a failing fetch is not retried on every request, and concurrent first requests fetch once") {
    Fixture f;
    f.microsoft.publish({});  // the JWKS holds no usable key: every fetch fails
    for (int i = 0; i < 5; ++i) {
      const auto response = f.post(f.message("nk-" + std::to_string(i), kPersonalConversation, "personal", kAlice, "help"));
      REQUIRE(response);
      CHECK(response->status == 401);
    }
    CHECK(f.microsoft.metadata_fetches() == 1);  // then the negative cache answers
    // Past the back-off (30 s), with keys published again: one new fetch, and requests pass.
    f.microsoft.publish({f.signer.jwk()});
    f.clock.advance(std::chrono::seconds(31));
    std::vector<std::pair<json, std::string>> requests;
    for (int i = 0; i < 8; ++i) {
      json activity = f.message("ok-" + std::to_string(i), kPersonalConversation, "personal", kAlice, "help");
      requests.emplace_back(activity, f.token_for(activity));
    }
    std::vector<std::thread> threads;
    std::atomic<int> passed{0};
    for (const auto& [activity, token] : requests) {
      threads.emplace_back([&f, &passed, activity = activity, token = token] {
        const auto response = f.post(activity, token);
        passed += response && response->status == 200 ? 1 : 0;
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(passed == 8);
    CHECK(f.microsoft.metadata_fetches() == 2);
  }
}
