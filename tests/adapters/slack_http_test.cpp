#include <doctest/doctest.h>

#include <atomic>

#include <SQLiteCpp/Database.h>

#include "adapters/slack/slack_dispatch.hpp"
#include "src/audit/replay_store.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/adapters/slack_harness.hpp"

using namespace opsgate;
using namespace opsgate::test;
using nlohmann::json;

namespace {

std::string events_request(const std::string& body, std::int64_t timestamp, const std::string& signature) {
  return "POST /slack/events HTTP/1.1\r\nHost: opsgate\r\nContent-Type: application/json\r\n"
         "X-Slack-Request-Timestamp: " + std::to_string(timestamp) + "\r\nX-Slack-Signature: " + signature +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Posts `message` through the adapter and keeps what it answered in `out`.
boost::asio::awaitable<void> post_into(adapters::slack::SlackAdapter* adapter, OutboundMessage message,
                                       std::shared_ptr<std::optional<Result<std::string>>> out) {
  auto posted = co_await adapter->post(std::move(message));
  *out = std::move(posted);
}

// A replay store on the daemon's kind of store, which the test keeps to reach
// the database. The writer waits up to 60 s for a lock a test holds (bounded,
// and far longer than a test holds one even under a sanitizer).
std::pair<std::shared_ptr<store::SqliteStore>, std::shared_ptr<audit::ReplayStore>> open_stores(const std::string& path) {
  store::StoreOptions options;
  options.busy_timeout_ms = 60000;
  auto store = store::SqliteStore::open(path, options);
  if (!store) {
    throw std::runtime_error(store.error().message);
  }
  auto replays = std::make_shared<audit::ReplayStore>(path, std::chrono::hours(1));
  if (auto opened = replays->open(*store); !opened) {
    throw std::runtime_error(opened.error().message);
  }
  return {*store, replays};
}

}  // namespace

TEST_SUITE("adapters/slack/http") {
  TEST_CASE("only correctly signed, fresh requests get through, the rest get 401") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    const std::string body = slack_mention("Ev1", "U0ALICE", "help", "1767225600.000200").dump();
    const std::int64_t now = unix_now();
    const std::string good = adapters::slack::sign(kSigningSecret, std::to_string(now), body);

    // Wrong secret.
    auto bad = h.send(events_request(body, now, adapters::slack::sign("another-secret", std::to_string(now), body)));
    REQUIRE(bad);
    CHECK(bad->status == 401);
    // Signed six minutes ago: a replay.
    const std::int64_t old = now - 360;
    auto stale = h.send(events_request(body, old, adapters::slack::sign(kSigningSecret, std::to_string(old), body)));
    REQUIRE(stale);
    CHECK(stale->status == 401);
    // No signature header at all.
    auto missing = h.send("POST /slack/events HTTP/1.1\r\nHost: o\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
    REQUIRE(missing);
    CHECK(missing->status == 401);
    // The body changed by one byte after signing.
    std::string changed = body;
    changed[changed.find("help")] = 'H';
    auto tampered = h.send(events_request(changed, now, good));
    REQUIRE(tampered);
    CHECK(tampered->status == 401);
    // A v1 signature is not ours to accept.
    auto version = h.send(events_request(body, now, "v1=" + good.substr(3)));
    REQUIRE(version);
    CHECK(version->status == 401);
    CHECK(h.sink().events().empty());

    auto ok = h.send(events_request(body, now, good));
    REQUIRE(ok);
    CHECK(ok->status == 200);
    CHECK(slack.wait_until([&] { return h.sink().events().size() == 1; }));
  }

  TEST_CASE("url_verification answers the challenge") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    auto response = h.post_event(json{{"token", "x"}, {"challenge", "abc123"}, {"type", "url_verification"}});
    REQUIRE(response);
    CHECK(response->status == 200);
    const json answer = json::parse(response->body, nullptr, false);
    CHECK(answer.value("challenge", "") == "abc123");
  }

  TEST_CASE("a mention becomes an event of the verified user, and the reply goes into its thread") {
    SlackStandIn slack;
    slack.add_user("U0ALICE", "alice");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    slack.set_usergroup("S0SHOP", {"U0ALICE", "U0CAROL"});
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {"S0SRE", "S0SHOP"});
    auto response = h.post_event(slack_mention("Ev1", "U0ALICE", "restart cart in staging", "1767225600.000200"));
    REQUIRE(response);
    CHECK(response->status == 200);
    REQUIRE(slack.wait_until([&] { return h.sink().events().size() == 1; }));
    const ChatEvent event = h.sink().events().front();
    CHECK(event.platform == "slack");
    CHECK(event.principal.id == "slack:T0AAA:U0ALICE");
    CHECK(event.principal.display_name == "alice");
    CHECK(event.principal.groups == std::vector<std::string>{"slack:usergroup:S0SHOP"});
    CHECK(event.text == "restart cart in staging");
    CHECK(event.channel == "C0OPS");
    CHECK(event.thread == "1767225600.000200");
    CHECK(event.addressed);

    const auto reply = slack.wait_for_post("echo: restart cart in staging");
    REQUIRE(reply);
    CHECK(reply->authorization == "Bearer xoxb-test-bot-token");
    CHECK(reply->content_type == "application/json; charset=utf-8");
    CHECK(reply->body["channel"] == "C0OPS");
    CHECK(reply->body["thread_ts"] == "1767225600.000200");
    CHECK(reply->body["blocks"].is_array());

    // A mention inside a thread answers in that thread.
    json threaded = slack_mention("Ev2", "U0ALICE", "again", "1767225605.000300");
    threaded["event"]["thread_ts"] = "1767225600.000200";
    h.post_event(threaded);
    const auto second = slack.wait_for_post("echo: again");
    REQUIRE(second);
    CHECK(second->body["thread_ts"] == "1767225600.000200");
    // users.info was asked once: the name is cached.
    CHECK(slack.calls("users.info").size() == 1);
  }

  TEST_CASE("bot messages and channel chatter are ignored, a DM is always addressed") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    json bot = slack_mention("Ev1", "U0ALICE", "restart cart", "1.1");
    bot["event"]["bot_id"] = "B0BOT";
    h.post_event(bot);
    json edited = slack_mention("Ev2", "U0ALICE", "restart cart", "1.2");
    edited["event"]["subtype"] = "message_changed";
    h.post_event(edited);
    json own = slack_mention("Ev3", "U0BOT", "hello", "1.3");
    h.post_event(own);
    json chatter = slack_mention("Ev4", "U0ALICE", "lunch?", "1.4");
    chatter["event"]["type"] = "message";
    chatter["event"]["channel_type"] = "channel";
    // Chatter is answered before the full parse, but never before the signature check.
    const std::string chatter_body = chatter.dump();
    const std::int64_t now = unix_now();
    auto forged = h.send(events_request(chatter_body, now, adapters::slack::sign("another-secret", std::to_string(now), chatter_body)));
    REQUIRE(forged);
    CHECK(forged->status == 401);
    auto ignored = h.post_event(chatter);
    REQUIRE(ignored);
    CHECK(ignored->status == 200);
    json dm = slack_mention("Ev5", "U0ALICE", "whoami", "1.5", "D0DM");
    dm["event"]["type"] = "message";
    dm["event"]["channel_type"] = "im";
    h.post_event(dm);
    REQUIRE(slack.wait_until([&] { return !h.sink().events().empty(); }));
    REQUIRE(slack.wait_for_post("echo: whoami"));
    const auto events = h.sink().events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].channel == "D0DM");
    CHECK(events[0].addressed);
  }

  TEST_CASE("a slash command is acknowledged with an ephemeral 'working on it' and answered in the channel") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    const std::string form = "token=x&team_id=T0AAA&team_domain=acme&channel_id=C0OPS&channel_name=ops&user_id=U0ALICE"
                             "&user_name=alice&command=%2Fops&text=" + form_value("restart cart in staging") +
                             "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=13345224609.738474920.8088930838d88f008e0";
    auto response = h.send(signed_slack_request("/slack/commands", "application/x-www-form-urlencoded", form, kSigningSecret, unix_now()));
    REQUIRE(response);
    CHECK(response->status == 200);
    const json ack = json::parse(response->body, nullptr, false);
    CHECK(ack.value("response_type", "") == "ephemeral");
    CHECK(ack.value("text", "").find("Working on it") != std::string::npos);
    const auto reply = slack.wait_for_post("echo: restart cart in staging");
    REQUIRE(reply);
    CHECK(reply->body["channel"] == "C0OPS");
    CHECK_FALSE(reply->body.contains("thread_ts"));  // in the channel, top level

    // Slack's unsigned SSL check gets an empty 200 and does nothing.
    auto ssl = h.send("POST /slack/commands HTTP/1.1\r\nHost: o\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 11\r\n\r\nssl_check=1");
    REQUIRE(ssl);
    CHECK(ssl->status == 200);
    CHECK(h.sink().events().size() == 1);
  }

  TEST_CASE("an approval request has buttons, a click votes as the clicker, the decision updates the message") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    OutboundMessage request;
    request.platform = "slack";
    request.channel = "C0OPS";
    request.thread = "1767225600.000200";
    request.request_id = "r1";
    request.text = "🔐 restart cart in prod — needs approval. Approval id ap-7f3c";
    request.approval_id = "ap-7f3c";
    h.run([&] { return h.adapter().send(request); });
    const auto posted = slack.wait_for_post("Approval id ap-7f3c");
    REQUIRE(posted);
    CHECK(posted->body["thread_ts"] == "1767225600.000200");
    const json& actions = posted->body["blocks"].back();
    CHECK(actions["type"] == "actions");
    CHECK(actions["elements"][0]["action_id"] == "approve");
    CHECK(actions["elements"][0]["value"] == "ap-7f3c");
    CHECK(actions["elements"][1]["action_id"] == "deny");

    // Bob clicks Approve on that message: a vote, as bob, in the request's thread.
    const std::string message_ts = posted->ts;
    REQUIRE(!message_ts.empty());
    auto clicked = h.post_click(slack_click("U0BOB", "approve", "ap-7f3c", message_ts, "1767225600.000200"));
    REQUIRE(clicked);
    CHECK(clicked->status == 200);
    CHECK(clicked->body.empty());
    REQUIRE(slack.wait_until([&] { return h.sink().events().size() == 1; }));
    const ChatEvent vote = h.sink().events().front();
    CHECK(vote.text == "!approve ap-7f3c");
    CHECK(vote.principal.id == "slack:T0AAA:U0BOB");
    CHECK(vote.thread == "1767225600.000200");

    // A button value that is not an approval id is refused outright.
    h.post_click(slack_click("U0BOB", "approve", "ap-1; !restart everything", message_ts, "1767225600.000200"));

    OutboundMessage decided;
    decided.platform = "slack";
    decided.channel = "C0OPS";
    decided.thread = "1767225600.000200";
    decided.request_id = "r1";
    decided.text = "✅ ap-7f3c approved by slack:T0AAA:U0BOB: running restart cart in prod";
    decided.approval_id = "ap-7f3c";
    decided.approval_outcome = "granted";
    decided.approval_outcome_text = "approved by slack:T0AAA:U0BOB";
    h.run([&] { return h.adapter().send(decided); });
    REQUIRE(slack.wait_until([&] { return slack.calls("chat.update").size() == 1; }));
    const auto update = slack.calls("chat.update").front();
    CHECK(update.body["channel"] == "C0OPS");
    CHECK(update.body["ts"] == message_ts);
    const std::string blocks = update.body["blocks"].dump();
    CHECK(blocks.find("\"actions\"") == std::string::npos);  // buttons gone
    CHECK(blocks.find("approved by <@U0BOB>") != std::string::npos);
    CHECK(slack.wait_for_post("ap-7f3c approved by"));
    CHECK(h.sink().events().size() == 1);
  }

  TEST_CASE("a retried event_id runs once, also after a restart") {
    SlackStandIn slack;
    TempDir dir;
    {
      SlackHarness h(slack, dir.file("o.db"));
      h.post_event(slack_mention("EvRETRY", "U0ALICE", "restart cart in staging", "1.1"));
      auto retry = h.post_event(slack_mention("EvRETRY", "U0ALICE", "restart cart in staging", "1.1"),
                                "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_timeout\r\n");
      REQUIRE(retry);
      CHECK(retry->status == 200);
      REQUIRE(slack.wait_for_post("echo: restart cart"));
      CHECK(h.sink().events().size() == 1);
    }
    SlackHarness restarted(slack, dir.file("o.db"));
    auto retry = restarted.post_event(slack_mention("EvRETRY", "U0ALICE", "restart cart in staging", "1.1"),
                                      "X-Slack-Retry-Num: 2\r\nX-Slack-Retry-Reason: http_timeout\r\n");
    REQUIRE(retry);
    CHECK(retry->status == 200);
    restarted.post_event(slack_mention("EvNEW", "U0ALICE", "something new", "1.2"));
    REQUIRE(slack.wait_for_post("echo: something new"));
    REQUIRE(restarted.sink().events().size() == 1);
    CHECK(restarted.sink().events().front().text == "something new");
  }

  TEST_CASE("with the database locked by another writer the I/O thread still answers and a retry waiting with the first runs once") {
    SlackStandIn slack;
    TempDir dir;
    auto [store, replays] = open_stores(dir.file("o.db"));
    SlackHarness h(slack, replays);
    SQLite::Database holder(dir.file("o.db"), SQLite::OPEN_READWRITE);
    holder.exec("BEGIN IMMEDIATE");  // the file's write lock: the store's writer must wait for it

    // The first delivery and Slack's retry of it, each on its own connection:
    // both wait for the replay decision, which waits for the lock.
    const std::string mention = slack_mention("EvLOCKED", "U0ALICE", "first", "1.1").dump();
    HttpTestConnection first(h.port(), std::chrono::seconds(10));
    REQUIRE(first.send(signed_slack_request("/slack/events", "application/json", mention, kSigningSecret, h.now_s())));
    HttpTestConnection retry(h.port(), std::chrono::seconds(10));
    REQUIRE(retry.send(signed_slack_request("/slack/events", "application/json", mention, kSigningSecret, h.now_s(),
                                            "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_timeout\r\n")));
    // Meanwhile the I/O thread answers what needs no decision: a channel
    // message nobody addressed to opsgate, and Slack's URL check.
    json chatter = slack_mention("EvCHATTER", "U0ALICE", "lunch at 12?", "1.2");
    chatter["event"]["type"] = "message";
    chatter["event"]["channel_type"] = "channel";
    auto ignored = h.post_event(chatter);
    REQUIRE(ignored);
    CHECK(ignored->status == 200);
    auto challenge = h.post_event(json{{"token", "x"}, {"challenge", "c1"}, {"type", "url_verification"}});
    REQUIRE(challenge);
    CHECK(challenge->status == 200);
    CHECK(h.sink().events().empty());  // nothing runs before its key is durable (the lock is still held)

    holder.exec("ROLLBACK");
    auto first_answer = first.read_response();
    auto retry_answer = retry.read_response();
    REQUIRE(first_answer);
    REQUIRE(retry_answer);
    CHECK(first_answer->status == 200);
    CHECK(retry_answer->status == 200);  // acknowledged, not acted on
    REQUIRE(slack.wait_for_post("echo: first"));
    h.post_event(slack_mention("EvAFTER", "U0ALICE", "after", "1.3"));
    REQUIRE(slack.wait_for_post("echo: after"));
    CHECK(h.sink().events().size() == 2);  // first once, after once
  }

  TEST_CASE("acknowledged work is bounded: with every handling slot taken by a stuck message the next gets 503 and is not recorded") {
    SlackStandIn slack;
    TempDir dir;
    auto [store, replays] = open_stores(dir.file("o.db"));
    SlackHarness h(slack, replays);
    for (std::size_t i = 0; i < adapters::slack::kMaxHandling; ++i) {
      const std::string n = std::to_string(i);
      auto stuck = h.post_event(slack_mention("EvHANG" + n, "U0ALICE", "hang", "2." + n));
      REQUIRE(stuck);
      REQUIRE(stuck->status == 200);
    }
    REQUIRE(slack.wait_until([&] { return h.sink().hanging() == static_cast<int>(adapters::slack::kMaxHandling); }));
    // Waits kSlotWait for a slot, then Slack is told to retry; its key is not spent.
    auto busy = h.post_event(slack_mention("EvBUSY", "U0ALICE", "one more", "3.1"));
    REQUIRE(busy);
    CHECK(busy->status == 503);
    auto first = replays->first_time("slack:event:EvBUSY", std::chrono::system_clock::now());
    REQUIRE(first);
    CHECK(*first);
  }

  TEST_CASE("a delivery whose replay key could not be made durable is refused with 503 and runs on Slack's retry") {
    SlackStandIn slack;
    TempDir dir;
    auto [store, replays] = open_stores(dir.file("o.db"));
    SlackHarness h(slack, replays);
    store->fail_next_commits_for_test(1);
    auto refused = h.post_event(slack_mention("EvFAIL", "U0ALICE", "restart cart in staging", "1.1"));
    REQUIRE(refused);
    CHECK(refused->status == 503);
    auto retried = h.post_event(slack_mention("EvFAIL", "U0ALICE", "restart cart in staging", "1.1"),
                                "X-Slack-Retry-Num: 1\r\nX-Slack-Retry-Reason: http_error\r\n");
    REQUIRE(retried);
    CHECK(retried->status == 200);
    REQUIRE(slack.wait_for_post("echo: restart cart"));
    CHECK(h.sink().events().size() == 1);
  }

  TEST_CASE("429 with Retry-After is waited out and the reply still arrives") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    slack.throttle("chat.postMessage", 1, 1);
    h.post_event(slack_mention("Ev1", "U0ALICE", "status please", "1.1"));
    const auto reply = slack.wait_for_post("echo: status please");
    REQUIRE(reply);
    CHECK(slack.throttled() == 1);
    CHECK(slack.calls("chat.postMessage").size() == 2);  // the 429 and the retry
  }

  TEST_CASE("a post Slack processed but answered after the timeout is not sent again, 503 and 429 still are") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"), {}, false, std::make_shared<SystemClock>(), std::chrono::milliseconds(200));
    slack.answer_slowly("chat.postMessage", 1, std::chrono::milliseconds(1000));
    OutboundMessage reply;
    reply.platform = "slack";
    reply.channel = "C0OPS";
    reply.request_id = "r1";
    reply.text = "restarted cart in staging";
    auto posted = std::make_shared<std::optional<Result<std::string>>>();
    h.run([&] { return post_into(&h.adapter(), reply, posted); });
    REQUIRE(posted->has_value());
    REQUIRE_FALSE(posted->value());
    const std::string why = posted->value().error().message;
    CHECK(why.find("chat.postMessage to channel C0OPS") != std::string::npos);
    CHECK(why.find("may or may not have been posted") != std::string::npos);
    CHECK(slack.calls("chat.postMessage").size() == 1);  // posted once, never re-sent

    slack.fail_next("chat.postMessage", 1, 503);  // 429 is retried too: see the Retry-After test
    reply.text = "after a 503";
    h.run([&] { return post_into(&h.adapter(), reply, posted); });
    REQUIRE(posted->has_value());
    CHECK(posted->value());
    const auto calls = slack.calls("chat.postMessage");
    REQUIRE(calls.size() == 3);  // the slow one, the 503, then posted
    CHECK(calls[1].failed_status == 503);
  }

  TEST_CASE("the ack does not wait for the work: a hanging backend leaves the next request answered") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    auto first = h.post_event(slack_mention("Ev1", "U0ALICE", "hang", "1.1"));
    REQUIRE(first);  // answered although its work never finishes
    CHECK(first->status == 200);
    REQUIRE(slack.wait_until([&] { return h.sink().hanging() == 1; }));
    auto second = h.post_event(slack_mention("Ev2", "U0ALICE", "still there?", "1.2"));
    REQUIRE(second);
    CHECK(second->status == 200);
    CHECK(slack.wait_for_post("echo: still there?"));
    CHECK(h.sink().hanging() == 1);  // the first is still stuck
  }

  TEST_CASE("a body over max_body gets 413 without being read as an event") {
    SlackStandIn slack;
    TempDir dir;
    SlackHarness h(slack, dir.file("o.db"));
    json big = slack_mention("Ev1", "U0ALICE", std::string(300 * 1024, 'a'), "1.1");
    auto response = h.post_event(big);
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(h.sink().events().empty());
  }
}

namespace {
// The system clock moved forward by a settable offset: requests stay validly signed at its time.
class OffsetClock final : public opsgate::Clock {
 public:
  std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now() + offset_.load(); }
  void advance(std::chrono::seconds by) { offset_ = offset_.load() + by; }

 private:
  std::atomic<std::chrono::seconds> offset_{std::chrono::seconds(0)};
};
}  // namespace

TEST_SUITE("adapters/slack/http") {
  TEST_CASE("user-group membership survives a Slack outage for usergroup_grace, then fails closed") {
    SlackStandIn slack;
    slack.add_user("U0BOB", "bob");
    slack.set_usergroup("S0SRE", {"U0BOB"});
    TempDir dir;
    auto clock = std::make_shared<OffsetClock>();
    SlackHarness h(slack, dir.file("o.db"), {"S0SRE"}, false, clock);
    const auto groups_of_event = [&](int n, const std::string& ts) {
      REQUIRE(h.post_event(slack_mention("EvG" + std::to_string(n), "U0BOB", "whoami", ts)));
      REQUIRE(slack.wait_until([&] { return static_cast<int>(h.sink().events().size()) == n; }));
      return h.sink().events().back().principal.groups;
    };
    const std::vector<std::string> sre{"slack:usergroup:S0SRE"};
    CHECK(groups_of_event(1, "1767225600.000001") == sre);
    // Slack fails every listing from now on (a Retry-After too long to wait out).
    slack.throttle("usergroups.users.list", 1000, 3600);
    clock->advance(std::chrono::minutes(6));  // past usergroup_ttl (5 min), within the grace (10 min)
    CHECK(groups_of_event(2, "1767225600.000002") == sre);
    clock->advance(std::chrono::minutes(5));  // 11 minutes since the last good list
    CHECK(groups_of_event(3, "1767225600.000003").empty());
  }
}
