#include <doctest/doctest.h>

#include <fstream>
#include <memory>

#include "tests/intent/nlu_test_support.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "src/intent/tokenizer.hpp"

using namespace opsgate;
using nlohmann::json;

namespace {

using opsgate::test::nlu_demo_inventory;

intent::IntentCascade make_cascade() {
  std::vector<std::unique_ptr<IntentParser>> parsers;
  parsers.push_back(std::make_unique<intent::CommandParser>(nlu_demo_inventory()));
  return intent::IntentCascade(std::move(parsers), nlu_demo_inventory(), 0.6);
}

ParseResult parse(const std::string& text) { return make_cascade().parse(text); }

}  // namespace

TEST_SUITE("intent/tokenizer") {
  TEST_CASE("quotes group words and key=value keeps its value") {
    const auto t = intent::tokenize(R"(!logs cart contains="connection refused" 'a b' level=error)");
    REQUIRE(t.size() == 5);
    CHECK(t[2].key == "contains");
    CHECK(t[2].text == "connection refused");
    CHECK(t[2].quoted);
    CHECK(t[3].text == "a b");
    CHECK(t[4].key == "level");
    CHECK(t[4].text == "error");
  }
  TEST_CASE("an unbalanced quote is closed at the end") {
    const auto t = intent::tokenize("grep \"oops");
    REQUIRE(t.size() == 2);
    CHECK(t[1].text == "oops");
  }
  TEST_CASE("typographic quotes from chat clients work") {
    const auto t = intent::tokenize("logs cart \u201ctime out\u201d");
    REQUIRE(t.size() == 3);
    CHECK(t[2].text == "time out");
  }
}

TEST_SUITE("intent/command_parser") {
  TEST_CASE("positional and key=value forms give the same request") {
    const auto a = parse("!scale inventory 3 staging");
    const auto b = parse("/ops scale target=inventory replicas=3 env=staging");
    const auto c = parse("!scale inventory 3 env=stg");
    REQUIRE(a.kind == ParseKind::request);
    CHECK(a.request.params == json{{"target", "inventory"}, {"env", "staging"}, {"replicas", 3}});
    CHECK(b.request.params == a.request.params);
    CHECK(c.request.params == a.request.params);
    CHECK(a.confidence == 1.0);
    CHECK(a.parser == "command");
  }

  TEST_CASE("durations are normalised to range_s") {
    const auto r = parse("!logs frontend contains=OOMKilled range=30m");
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.params["range_s"] == 1800);
    CHECK(r.request.params["contains"] == "OOMKilled");
    CHECK(r.request.params["env"] == "prod");
    CHECK(parse("!metrics checkout error_rate 1h").request.params["range_s"] == 3600);
    CHECK(parse("!triage cart 2h staging").request.params == json{{"target", "cart"}, {"env", "staging"}, {"range_s", 7200}});
  }

  TEST_CASE("a bare sentence that starts with a verb is understood with lower confidence") {
    const auto r = parse("restart cart in staging");
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.action == "restart");
    CHECK(r.request.params == json{{"target", "cart"}, {"env", "staging"}});
    CHECK(r.confidence == doctest::Approx(0.9));
    CHECK(parse("deploy search 5.0.2 to prod").request.params ==
          json{{"target", "search"}, {"env", "prod"}, {"version", "5.0.2"}});
  }

  TEST_CASE("a write without an environment asks which one") {
    const auto r = parse("!restart frontend");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.question == "restart frontend in prod or staging?");
    CHECK(r.options == std::vector<std::string>{"prod", "staging"});
  }

  TEST_CASE("shell metacharacters never reach an action") {
    for (const char* text : {"!restart \"cart; rm -rf /\" staging", "!restart cart;rm staging", "!restart $(id) staging",
                             "!deploy cart `reboot` staging"}) {
      const auto r = parse(text);
      CHECK_MESSAGE(r.kind == ParseKind::clarify, text);
    }
  }

  TEST_CASE("promql keeps the query as typed") {
    const auto r = parse("!promql sum by (code) (rate(http_requests_total{job=\"checkout\"}[5m]))");
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.params["query"] == "sum by (code) (rate(http_requests_total{job=\"checkout\"}[5m]))");
  }

  TEST_CASE("deny keeps its reason, approve takes an id") {
    const auto d = parse("deny 42 because it's friday");
    REQUIRE(d.kind == ParseKind::request);
    CHECK(d.request.params == json{{"id", "42"}, {"reason", "it's friday"}});
    CHECK(parse("approve 42").request.params == json{{"id", "42"}});
    CHECK(parse("!approve").kind == ParseKind::clarify);
  }

  TEST_CASE("approval ids after words, with #, in other forms, the reason after a colon or comma") {
    struct Case {
      const char* text;
      const char* action;
      json params;
    };
    for (const Case& c : std::vector<Case>{
             {"deny request 42: not during the freeze", "deny", {{"id", "42"}, {"reason", "not during the freeze"}}},
             {"deny req 5 not today", "deny", {{"id", "5"}, {"reason", "not today"}}},
             {"deny approval 70, wrong env", "deny", {{"id", "70"}, {"reason", "wrong env"}}},
             {"deny id 3f9d2 — no ticket", "deny", {{"id", "3f9d2"}, {"reason", "no ticket"}}},
             {"deny #14", "deny", {{"id", "14"}}},
             {"reject 55 because the change window is closed", "deny",
              {{"id", "55"}, {"reason", "the change window is closed"}}},
             {"deny 7kq2m reason=\"change freeze\"", "deny", {{"id", "7kq2m"}, {"reason", "change freeze"}}},
             {"I approve request #17", "approve", {{"id", "17"}}},
             {"approve: 3f9d2", "approve", {{"id", "3f9d2"}}},
             {"approve 1234 please", "approve", {{"id", "1234"}}},
             {"<@U0BOT> approve 88", "approve", {{"id", "88"}}},
             {"/ops approve id 61", "approve", {{"id", "61"}}},
             {"cancel my request #9", "cancel", {{"id", "9"}}},
         }) {
      const auto r = parse(c.text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, c.text);
      CHECK_MESSAGE(r.request.action == c.action, c.text);
      CHECK_MESSAGE(r.request.params == c.params, c.text);
    }
  }

  TEST_CASE("words after approve or cancel that are not an id are not a decision") {
    // Before: "deny request 42" took "request" for the id and "cancel the
    // meeting at 3" cancelled request "the".
    CHECK(parse("cancel the meeting at 3").kind == ParseKind::none);
    CHECK(parse("approve the budget").kind == ParseKind::none);
    CHECK(parse("approve 2 more people for the offsite").kind == ParseKind::none);
    CHECK(parse("deny request").kind == ParseKind::clarify);
    CHECK(parse("!cancel the meeting").kind == ParseKind::clarify);
  }

  TEST_CASE("unknown commands, options and words get a usage answer") {
    CHECK(parse("!reboot cart").question.find("I do not know the command `!reboot`") == 0);
    const auto opt = parse("!restart cart staging force=true");
    REQUIRE(opt.kind == ParseKind::clarify);
    CHECK(opt.question.find("has no option `force`") != std::string::npos);
    CHECK(opt.question.find("Usage: `!restart <target> <env>`") != std::string::npos);
    CHECK(parse("!restart cart staging now please extra").kind == ParseKind::clarify);
    CHECK(parse("!scale cart 3 staging replicas=4").question.find("given twice") != std::string::npos);
  }

  TEST_CASE("chat that is not a command is none") {
    CHECK(parse("thanks!").kind == ParseKind::none);
    CHECK(parse("good morning team").kind == ParseKind::none);
    CHECK(parse("lunch at 12?").kind == ParseKind::none);
    CHECK(parse("").kind == ParseKind::none);
  }

  TEST_CASE("words in the message cannot grant anything: the request stays what was asked") {
    const auto r = parse("!restart cart staging skip_approval=true");
    CHECK(r.kind == ParseKind::clarify);
  }

  TEST_CASE("every command form of the development set parses exactly") {
    std::ifstream in(OPSGATE_SHARED_DIR "/eval/intents-dev.jsonl");
    REQUIRE_MESSAGE(in.good(), "../shared/eval/intents-dev.jsonl is missing");
    std::string line;
    int checked = 0;
    while (std::getline(in, line)) {
      const json item = json::parse(line);
      const std::string text = item["text"];
      if (text.rfind("!", 0) != 0 && text.rfind("/ops", 0) != 0) {
        continue;
      }
      const ParseResult r = parse(text);
      const json& expect = item["expect"];
      CHECK_MESSAGE(r.request.action == expect["action"].get<std::string>(), text);
      for (const auto& [key, value] : expect["params"].items()) {
        const std::string what = text + " param " + key;
        CHECK_MESSAGE(r.request.params[key] == value, what);
      }
      ++checked;
    }
    CHECK(checked >= 6);
  }
}
