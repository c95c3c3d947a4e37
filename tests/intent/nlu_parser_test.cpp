#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;
using nlohmann::json;

namespace {

ParseResult nlu(const std::string& text) {
  static const intent::NluParser parser(test::nlu_demo_inventory());
  return parser.parse(text);
}

ParseResult cascade(const std::string& text) {
  static const intent::IntentCascade c = test::nlu_cascade();
  return c.parse(text);
}

// Two targets one letter apart from the same typo, for the tie rule.
std::shared_ptr<const Inventory> twin_inventory() {
  return std::make_shared<Inventory>(
      std::vector<Target>{{"payments-eu", {}, "payments", {}}, {"payments-us", {}, "payments", {}},
                          {"checkout", {}, "shop", {}}},
      std::vector<Environment>{{"prod", {"production"}}, {"staging", {}}}, "prod");
}

}  // namespace

TEST_SUITE("intent/nlu") {
  TEST_CASE("verb synonyms map to the canonical actions") {
    for (const char* text : {"bounce cart in prod", "kick cart in prod", "recycle cart in prod",
                             "please restart the cart pods on production"}) {
      const auto r = nlu(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "restart", text);
      CHECK_MESSAGE((r.request.params == json{{"target", "cart"}, {"env", "prod"}}), text);
    }
    for (const char* text : {"ship cart 1.2.0 to prod", "push cart 1.2.0 to prod", "release cart 1.2.0 to prod",
                             "roll out cart 1.2.0 to prod"}) {
      const auto r = nlu(text);
      CHECK_MESSAGE(r.request.action == "rollout.deploy", text);
      CHECK_MESSAGE(r.request.params["version"] == "1.2.0", text);
    }
    for (const char* text : {"revert cart in prod", "go back to the previous cart in prod", "roll back cart in prod",
                             "undo the cart deploy in prod", "roll cart back in prod"}) {
      CHECK_MESSAGE(nlu(text).request.action == "rollout.undo", text);
    }
    CHECK(nlu("bump search to 8 pods in prod").request.params ==
          json{{"target", "search"}, {"env", "prod"}, {"replicas", 8}});
    CHECK(nlu("scale up cart to 4 in staging").request.params["replicas"] == 4);
  }

  TEST_CASE("metrics are named in everyday words") {
    const std::pair<const char*, const char*> cases[] = {
        {"failure rate of cart", "error_rate"},     {"5xx for cart", "error_rate"},
        {"how many errors did cart have", "error_rate"}, {"tail latency of cart", "latency_p99"},
        {"99th percentile for cart", "latency_p99"}, {"median latency cart", "latency_p50"},
        {"p50 cart", "latency_p50"},                 {"traffic on cart", "rps"},
        {"qps for cart", "rps"},                     {"requests per second for cart", "rps"},
        {"RAM of cart", "memory"},                   {"cart memory", "memory"},
        {"cpu for cart", "cpu"},                     {"restarts for cart", "restarts"},
        {"how many times has cart restarted", "restarts"},
    };
    for (const auto& one : cases) {
      // Not a structured binding: clang 14 cannot capture one in doctest's lambdas.
      const char* text = one.first;
      const auto& metric = one.second;
      const auto r = nlu(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "metrics.query", text);
      CHECK_MESSAGE(r.request.params["metric"] == metric, text);
    }
    CHECK(nlu("p95 for cart").kind == ParseKind::clarify);
  }

  TEST_CASE("a close typo of one target is corrected with lower confidence") {
    const auto r = nlu("bounce chekout in staging");
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.params == json{{"target", "checkout"}, {"env", "staging"}});
    CHECK(r.confidence < nlu("bounce checkout in staging").confidence);
    CHECK(r.confidence >= 0.6);
    CHECK(nlu("error rate for inventroy").request.params["target"] == "inventory");  // swapped letters
    CHECK(nlu("is seach down?").request.params["target"] == "search");
    CHECK(nlu("kick frontend in prodution").request.params["env"] == "prod");
  }

  TEST_CASE("a typo equally close to two targets is a question, never a guess") {
    const intent::NluParser parser(twin_inventory());
    const auto r = parser.parse("bounce payments-es in prod");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.options == std::vector<std::string>{"payments-eu", "payments-us"});
    CHECK(parser.parse("bounce payments-eu in prod").request.params["target"] == "payments-eu");
  }

  TEST_CASE("short words are never taken for a target") {
    for (const char* text : {"restart crt in prod", "logs for cat", "restart cat in staging"}) {
      const auto r = nlu(text);
      CHECK_MESSAGE(r.kind == ParseKind::clarify, text);
    }
  }

  TEST_CASE("an unknown target is a question offering the closest known ones") {
    const auto r = nlu("restart checkout-svc in prod");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.question.find("checkout-svc") != std::string::npos);
    REQUIRE_FALSE(r.options.empty());
    CHECK(r.options.front() == "checkout");
    const auto orders = nlu("bounce the orders service in staging");
    REQUIRE(orders.kind == ParseKind::clarify);
    CHECK(orders.question.find("'orders'") != std::string::npos);
  }

  TEST_CASE("numbers may be written in words") {
    CHECK(nlu("scale cart to three replicas in prod").request.params["replicas"] == 3);
    CHECK(nlu("scale cart to twenty-five pods in prod").request.params["replicas"] == 25);
    CHECK(nlu("scale cart to twenty five pods in prod").request.params["replicas"] == 25);
    CHECK(nlu("scale cart down to one pod in staging").request.params["replicas"] == 1);
    CHECK(nlu("give me twenty log lines from cart").request.params["limit"] == 20);
  }

  TEST_CASE("a relative or negative replica count is never turned into an absolute one") {
    CHECK(nlu("add 2 more pods to cart in prod").kind == ParseKind::clarify);
    CHECK(nlu("scale cart by 2 in prod").kind == ParseKind::clarify);
    const auto negative = nlu("scale cart to -1 in staging");
    CHECK_FALSE(negative.request.params.contains("replicas"));
  }

  TEST_CASE("versions are image tags in the usual shapes") {
    for (const char* version : {"v1.9.3", "4.0.0-rc1", "2024.11.2", "1.8.0", "v2"}) {
      const auto r = nlu(std::string("deploy cart ") + version + " to staging");
      CHECK_MESSAGE(r.request.params["version"] == version, version);
    }
    CHECK(nlu("deploy version build-42 of cart to staging").request.params["version"] == "build-42");
    // A rollback to a version is a deploy, and we say so rather than guess.
    CHECK(nlu("roll back cart to v1.2.3 in prod").kind == ParseKind::clarify);
    CHECK(nlu("roll back cart to revision 12 in prod").request.params["revision"] == 12);
  }

  TEST_CASE("durations are normalised to seconds, 'today' is the last 24 hours") {
    const std::pair<const char*, int> cases[] = {
        {"error rate for cart in the last 20 minutes", 1200}, {"error rate for cart past 3 hours", 10800},
        {"error rate for cart in the last day", 86400},        {"error rate for cart since 30 minutes ago", 1800},
        {"error rate for cart over the last 2h", 7200},        {"error rate for cart today", 86400},
        {"error rate for cart over the last hour", 3600},      {"error rate for cart last half an hour", 1800},
        {"error rate for cart this week", 604800},             {"error rate for cart in the last 15min", 900},
        {"error rate for cart the last couple of hours", 7200}, {"error rate for cart last ninety minutes", 5400},
    };
    for (const auto& one : cases) {
      const char* text = one.first;
      const auto& seconds = one.second;
      CHECK_MESSAGE(nlu(text).request.params["range_s"] == seconds, text);
    }
  }

  TEST_CASE("quoted text is the search string, apostrophes are not quotes") {
    CHECK(nlu("search logs of cart for 'connection refused'").request.params["contains"] == "connection refused");
    CHECK(nlu("grep cart logs for \"timeout\"").request.params["contains"] == "timeout");
    CHECK(nlu("grep cart logs for \xE2\x80\x9C" "disk full\xE2\x80\x9D").request.params["contains"] == "disk full");
    const auto r = nlu("what's in cart's logs for 'it's broken'");
    CHECK(r.request.params["contains"] == "it's broken");
    CHECK(r.request.params["target"] == "cart");
  }

  TEST_CASE("mention markup of every platform is stripped first") {
    for (const char* text : {"<@U123ABC> restart cart in staging", "<at>opsgate</at> restart cart in staging",
                             "<@123456> restart cart in staging", "<@!123> restart cart in staging",
                             "<@U123ABC|opsgate> restart cart in staging"}) {
      const auto r = cascade(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE((r.request.params == json{{"target", "cart"}, {"env", "staging"}}), text);
    }
  }

  TEST_CASE("approve, deny and cancel never come from the language parser") {
    // Only the command parser's grammar decides on a request (its tests).
    for (const char* text : {"approve 42", "I approve request #17", "reject 55 because the change window is closed",
                             "cancel 12", "approve the restart"}) {
      const auto r = nlu(text);
      CHECK_MESSAGE(r.kind != ParseKind::request, text);
    }
    CHECK(nlu("approve 42").question.find("`approve <id>`") != std::string::npos);
  }

  TEST_CASE("meta, alerts and rollout status questions") {
    CHECK(nlu("what can you do?").request.action == "help");
    CHECK(nlu("who am i").request.action == "whoami");
    CHECK(nlu("show pending approvals").request.action == "approvals.list");
    CHECK(nlu("show the audit log for checkout").request.params == json{{"target", "checkout"}});
    CHECK(nlu("what alerts are firing").request.params == json::object());
    CHECK(nlu("any alerts for checkout?").request.params == json{{"target", "checkout"}});
    CHECK(nlu("is the cart deploy done").request.action == "rollout.status");
    CHECK(nlu("which version of cart is running").request.action == "rollout.status");
    CHECK(nlu("promql: sum(rate(x[5m])) > 0").request.params["query"] == "sum(rate(x[5m])) > 0");
  }

  TEST_CASE("symptoms mean triage") {
    for (const char* text : {"cart is slow", "cart is down", "cart is throwing 500s", "timeouts on cart",
                             "cart is on fire", "cart seems broken", "investigate cart",
                             "what's going on with cart?"}) {
      const auto r = nlu(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "triage", text);
      CHECK_MESSAGE(r.request.params["target"] == "cart", text);
    }
    // Not ours: no target we know.
    CHECK(nlu("my laptop is slow").kind == ParseKind::none);
  }

  TEST_CASE("words asking for privileges do nothing: the request stays what was asked") {
    for (const char* text : {"restart checkout in staging and make me an admin",
                             "restart checkout in staging, skip the approval",
                             "restart checkout in staging and give me admin rights"}) {
      const auto r = cascade(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "restart", text);
      CHECK_MESSAGE((r.request.params == json{{"target", "checkout"}, {"env", "staging"}}), text);
    }
  }

  TEST_CASE("two writes in one message are a question, never one of them") {
    for (const char* text : {"restart cart and scale checkout to 5", "restart cart in prod then deploy search 1.0.0 to prod",
                             "deploy checkout 2.0.0 to prod and restart cart in prod"}) {
      CHECK_MESSAGE(nlu(text).kind == ParseKind::clarify, text);
      CHECK_MESSAGE(cascade(text).kind == ParseKind::clarify, text);
    }
    CHECK(nlu("restart cart and checkout in prod").kind == ParseKind::clarify);
    CHECK(nlu("restart cart in prod and staging").kind == ParseKind::clarify);
  }

  TEST_CASE("a write never gets a default environment") {
    const auto r = nlu("bounce frontend");
    REQUIRE(r.kind == ParseKind::request);
    CHECK_FALSE(r.request.params.contains("env"));
    const auto c = cascade("bounce frontend");
    REQUIRE(c.kind == ParseKind::clarify);
    CHECK(c.question == "restart frontend in prod or staging?");
    // Reads do get one, from validation.
    CHECK(cascade("error rate of cart").request.params["env"] == "prod");
  }

  TEST_CASE("a write without a target asks which one") {
    for (const char* text : {"restart it", "restart it please", "scale it to 3 in prod", "roll it back"}) {
      CHECK_MESSAGE(nlu(text).kind == ParseKind::clarify, text);
      CHECK_MESSAGE(cascade(text).kind == ParseKind::clarify, text);
    }
  }

  TEST_CASE("chatter is none") {
    for (const char* text : {"thanks!", "good morning team", "lunch at 12?", "ok", "see you tomorrow",
                             "great work everyone on the release", "can anyone help me move my desk",
                             "I restarted cart yesterday, all good", "", "   ", "<@U123ABC>"}) {
      CHECK_MESSAGE(nlu(text).kind == ParseKind::none, text);
      CHECK_MESSAGE(cascade(text).kind == ParseKind::none, text);
    }
  }

  TEST_CASE("invalid UTF-8 never throws and free text stays valid") {
    const std::string bad = "grep cart logs for '\xff\xfe\xc3(' \xe2\x82 in prod \x80";
    ParseResult r;
    CHECK_NOTHROW(r = nlu(bad));
    REQUIRE(r.kind == ParseKind::request);
    CHECK_NOTHROW((void)to_json(r).dump());  // would throw on invalid UTF-8
    CHECK_NOTHROW((void)cascade("\xc0\xaf restart \xed\xa0\x80 cart \xf4\x90\x80\x80"));
    std::string all_bytes;
    for (int b = 0; b < 256; ++b) {
      all_bytes += static_cast<char>(b);
    }
    CHECK_NOTHROW((void)nlu(all_bytes));
    CHECK_NOTHROW((void)cascade(all_bytes));
  }

  TEST_CASE("a message over kNluMaxMessageBytes is none before it is read, one at the limit is parsed") {
    // How fast: bench/micro_bench.cpp (BM_NluParserPerMessage). Here: the size check comes first.
    const std::string ask = "restart cart in staging";
    const std::string at_limit = ask + std::string(intent::kNluMaxMessageBytes - ask.size(), ' ');
    const auto parsed = nlu(at_limit);
    CHECK(parsed.kind == ParseKind::request);
    CHECK(parsed.request.action == "restart");
    CHECK(nlu(at_limit + " ").kind == ParseKind::none);
    std::string huge;
    while (huge.size() < 100 * 1024) {
      huge += "restart cart in prod and scale checkout to 5 <@U1> \"quote ";
    }
    CHECK(nlu(huge).kind == ParseKind::none);
    CHECK_NOTHROW((void)cascade(huge));
    std::string big;
    while (big.size() + 40 < intent::kNluMaxMessageBytes) {
      big += "what's the p99 of chekout 'x' in prod, ";
    }
    CHECK_NOTHROW((void)nlu(big));
  }

  TEST_CASE("the parser is deterministic") {
    const std::string text = "p99 for chekout in staging over the last 45 minutes";
    const auto a = nlu(text);
    for (int i = 0; i < 5; ++i) {
      const auto b = nlu(text);
      CHECK(to_json(b) == to_json(a));
    }
  }

  // Issue #19: kinds of everyday phrasing, each through the cascade.
  TEST_CASE("polite wrappers, gerunds after 'mind' and typos of a verb reach the same request") {
    for (const char* text : {"would you mind bouncing the inventory pods in staging",
                             "restrat inventory in stg", "could you restart inventory in staging please 🙏"}) {
      const auto r = cascade(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "restart", text);
      CHECK_MESSAGE((r.request.params == json{{"target", "inventory"}, {"env", "staging"}}), text);
    }
    CHECK(nlu("restrat inventory in stg").confidence < intent::kNluConfident);  // a corrected verb is a guess
    CHECK(cascade("lgos for checkout").request.action == "logs.search");
    CHECK(cascade("eror rate for cart").request.params["metric"] == "error_rate");
    // Words a typo is not: "sale" is not "scale", "logo" is not "logs".
    CHECK(cascade("the sale starts at 3").kind == ParseKind::none);
    CHECK(cascade("new logo for cart").request.action != "logs.search");
  }

  TEST_CASE("a need is a request: replicas to scale, a version to deploy, never in a question") {
    auto r = cascade("cart needs 4 replicas in prod");
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.action == "scale");
    CHECK(r.request.params == json{{"target", "cart"}, {"env", "prod"}, {"replicas", 4}});
    r = cascade("we should have 5 search pods in staging");
    CHECK(r.request.params == json{{"target", "search"}, {"env", "staging"}, {"replicas", 5}});
    r = cascade("we need inventory 2.6.0 in staging");
    CHECK(r.request.action == "rollout.deploy");
    CHECK(r.request.params == json{{"target", "inventory"}, {"env", "staging"}, {"version", "2.6.0"}});
    CHECK(cascade("does cart need 4 replicas in prod?").request.action != "scale");
    CHECK(cascade("cart needs 4 replicas").kind == ParseKind::clarify);  // no env: never defaulted
  }

  TEST_CASE("questions about a rollout's progress and about what was done") {
    for (const char* text : {"has search finished deploying in staging?", "how's the payments deploy going",
                             "is inventory still rolling out in stg", "where are we with the checkout rollout in prod",
                             "has 2.4.1 of checkout rolled out to prod yet", "what's live for payments"}) {
      CHECK_MESSAGE(cascade(text).request.action == "rollout.status", text);
    }
    for (const char* text : {"what was done to cart today", "what did you do to checkout", "recent actions on payments",
                             "who touched checkout lately"}) {
      const auto r = cascade(text);
      CHECK_MESSAGE(r.request.action == "audit.show", text);
      CHECK_MESSAGE(r.request.params.contains("target"), text);
    }
  }

  TEST_CASE("a complaint outranks the metric it names") {
    CHECK(cascade("cart latency is spiking").request.action == "triage");
    CHECK(cascade("error rate on search is through the roof").request.action == "triage");
    CHECK(cascade("errors spiking on frontend").request.action == "triage");
    CHECK(cascade("is pay ok?").request.action == "triage");
    CHECK(cascade("how slow is checkout right now, p99?").request.action == "metrics.query");
  }

  TEST_CASE("a lone question mark is help, a vague imperative asks, first-person news is none") {
    CHECK(cascade("?").request.action == "help");
    CHECK(cascade("<@U0BOT> ??").request.action == "help");
    for (const char* text : {"make it stop!", "stop it", "fix this", "ship it to prod", "roll it back"}) {
      CHECK_MESSAGE(cascade(text).kind == ParseKind::clarify, text);
    }
    for (const char* text : {"I'll restart vscode", "my laptop needs a restart", "scale is not my thing",
                             "let's scale back the meeting to 30 minutes", "i'll roll back to the old keyboard layout"}) {
      CHECK_MESSAGE(cascade(text).kind == ParseKind::none, text);
    }
    // An unknown target in a request is still a question, never invented.
    CHECK(cascade("restart billing in prod").kind == ParseKind::clarify);
  }

  TEST_CASE("PromQL after a label, in backticks or in a code block, kept as typed") {
    const std::string q = "sum(rate(http_requests_total{code=~\"5..\"}[5m]))";
    for (const std::string& text : {"promql: " + q, "prometheus query: " + q, "run this query `" + q + "`",
                                    "promql `" + q + "`", "```" + q + "```", "```promql\n" + q + "\n```",
                                    "can you run this promql: " + q}) {
      const auto r = cascade(text);
      REQUIRE_MESSAGE(r.kind == ParseKind::request, text);
      CHECK_MESSAGE(r.request.action == "metrics.promql", text);
      CHECK_MESSAGE(r.request.params["query"] == q, text);
    }
    CHECK(cascade("run `up`").request.params["query"] == "up");
    // Backticks around a name or a log search are not a query.
    CHECK(cascade("error rate of `checkout` in prod").request.action == "metrics.query");
    CHECK(cascade("grep checkout logs for `connect(fd)`").request.action == "logs.search");
  }
}

