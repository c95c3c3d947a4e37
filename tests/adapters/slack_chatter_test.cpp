#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/slack/slack_chatter.hpp"
#include "adapters/slack/slack_inbound.hpp"
#include "tests/support/slack_stand_in.hpp"

using namespace opsgate;
using nlohmann::json;
using adapters::slack::is_channel_chatter;

namespace {

json channel_message(const std::string& text = "lunch at 12?") {
  json body = test::slack_mention("EvC", "U0ALICE", text, "1767225600.000100");
  body["event"]["type"] = "message";
  body["event"]["channel_type"] = "channel";
  return body;
}

// The probe may only ever say "chatter" for a body the full parser ignores.
void check_agrees(const std::string& body) {
  CAPTURE(body);
  if (!is_channel_chatter(body)) {
    return;
  }
  const json parsed = json::parse(body, nullptr, false);
  CHECK(adapters::slack::parse_event(parsed).kind == adapters::slack::SlackInbound::Kind::ignore);
}

}  // namespace

TEST_SUITE("adapters/slack/chatter") {
  TEST_CASE("a channel message is chatter while a mention, a DM and the rest take the full path") {
    CHECK(is_channel_chatter(channel_message().dump()));
    // Slack's own field order (event before type) and a message in a thread.
    CHECK(is_channel_chatter(R"({"token":"x","team_id":"T0AAA","event":{"type":"message","channel":"C0OPS",)"
                             R"("user":"U0ALICE","text":"hi","ts":"1.2","thread_ts":"1.1","channel_type":"channel"},)"
                             R"("type":"event_callback","event_id":"Ev9"})"));

    CHECK_FALSE(is_channel_chatter(test::slack_mention("EvM", "U0ALICE", "whoami", "1.1").dump()));
    json dm = channel_message("whoami");
    dm["event"]["channel_type"] = "im";
    CHECK_FALSE(is_channel_chatter(dm.dump()));
    json d_channel = channel_message("whoami");
    d_channel["event"].erase("channel_type");
    d_channel["event"]["channel"] = "D0DM";
    CHECK_FALSE(is_channel_chatter(d_channel.dump()));
    CHECK_FALSE(is_channel_chatter(R"({"token":"x","challenge":"abc","type":"url_verification"})"));
    CHECK_FALSE(is_channel_chatter(""));
    CHECK_FALSE(is_channel_chatter("[]"));
  }

  TEST_CASE("anything unclear is not chatter: bad JSON, repeated keys, types nested or of the wrong kind") {
    const std::string good = channel_message().dump();
    CHECK_FALSE(is_channel_chatter(good.substr(0, good.size() - 1)));  // truncated
    CHECK_FALSE(is_channel_chatter(good + "x"));                         // trailing bytes
    // A repeated envelope type, event or event type: the full parser decides.
    CHECK_FALSE(is_channel_chatter(R"({"type":"event_callback","type":"url_verification","challenge":"c",)"
                                   R"("event":{"type":"message","channel":"C1"}})"));
    CHECK_FALSE(is_channel_chatter(R"({"type":"event_callback","event":{"type":"message","channel":"C1"},)"
                                   R"("event":{"type":"app_mention","channel":"C1"}})"));
    CHECK_FALSE(is_channel_chatter(R"({"type":"event_callback","event":{"type":"message","type":"app_mention",)"
                                   R"("channel":"C1"}})"));
    CHECK_FALSE(is_channel_chatter(R"({"type":"event_callback","event":{"type":"message","channel":"C1",)"
                                   R"("channel_type":"channel","channel_type":"im"}})"));
    // Only the envelope's and the event's own fields count, not nested ones.
    json mention = test::slack_mention("EvN", "U0ALICE", "whoami", "1.1");
    mention["event"]["blocks"] = json::array({{{"type", "message"}, {"channel_type", "channel"}}});
    mention["event"]["attachments"] = {{"type", "message"}};
    CHECK_FALSE(is_channel_chatter(mention.dump()));
    json nested = channel_message();
    nested["event"]["channel_type"] = "im";
    nested["event"]["blocks"] = json::array({{{"channel_type", "channel"}, {"channel", "C2"}}});
    CHECK_FALSE(is_channel_chatter(nested.dump()));
    json wrong_kind = channel_message();
    wrong_kind["event"]["type"] = 7;
    CHECK_FALSE(is_channel_chatter(wrong_kind.dump()));
    wrong_kind = channel_message();
    wrong_kind["type"] = json::array({"event_callback"});
    CHECK_FALSE(is_channel_chatter(wrong_kind.dump()));
    wrong_kind = channel_message();
    wrong_kind["event"] = "message";
    CHECK_FALSE(is_channel_chatter(wrong_kind.dump()));
  }

  TEST_CASE("whatever the probe calls chatter, the full parser ignores") {
    std::vector<json> bodies;
    bodies.push_back(channel_message());
    bodies.push_back(test::slack_mention("EvM", "U0ALICE", "whoami", "1.1"));
    for (const char* channel_type : {"channel", "group", "mpim", "im", ""}) {
      for (const char* channel : {"C0OPS", "G0PRIV", "D0DM", ""}) {
        for (const char* type : {"message", "app_mention", "reaction_added"}) {
          json body = channel_message("restart cart in staging");
          body["event"]["type"] = type;
          body["event"]["channel"] = channel;
          body["event"]["channel_type"] = channel_type;
          bodies.push_back(body);
          body["event"].erase("channel_type");
          bodies.push_back(body);
        }
      }
    }
    int chatter = 0;
    for (const json& body : bodies) {
      const std::string text = body.dump();
      chatter += is_channel_chatter(text) ? 1 : 0;
      check_agrees(text);
    }
    CHECK(chatter > 0);  // the loop above did test the "chatter" answer
  }
}
