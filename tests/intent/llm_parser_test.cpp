#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/metrics.hpp"
#include "src/intent/llm_accounting.hpp"
#include "src/intent/llm_parser.hpp"
#include "tests/intent/nlu_test_support.hpp"
#include "tests/support/loki_stand_in.hpp"
#include "tests/support/openai_stand_in.hpp"

using namespace opsgate;
using nlohmann::json;

namespace {

std::string prompt_path() { return std::string(OPSGATE_SOURCE_DIR) + "/config/prompts/intent.md"; }

constexpr const char* kOpenAiKey = "sk-test-123";
constexpr const char* kAzureKey = "azure-key-456";

intent::LlmConnection openai_connection(const std::string& base) {
  intent::LlmConnection c;
  c.name = "openai";
  c.type = "openai";
  c.provider = "openai";
  c.api_base = base + "/v1";
  c.api_key = Secret(kOpenAiKey, "test");
  c.model = "gpt-4o-mini";
  c.timeout = std::chrono::seconds(5);
  return c;
}

intent::LlmConnection azure_connection(const std::string& base) {
  intent::LlmConnection c;
  c.name = "aoai";
  c.type = "azure_openai";
  c.provider = "azure.ai.openai";
  c.api_base = base;
  c.api_key = Secret(kAzureKey, "test");
  c.deployment = "intent-dep";
  c.api_version = "2024-10-21";
  c.timeout = std::chrono::seconds(5);
  return c;
}

const std::map<std::string, intent::LlmPrice> kPrices{{"gpt-4o-mini", {0.15, 0.60}}};

// One parser against the stand-in, run to completion on its own io_context.
struct LlmHarness {
  test::OpenAiStandIn server;
  boost::asio::io_context io;
  net::HttpClient http;
  std::shared_ptr<const Inventory> inventory = test::nlu_demo_inventory();
  intent::LlmParser parser;

  explicit LlmHarness(bool azure = false, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : server(azure ? kAzureKey : kOpenAiKey),
        parser(with_timeout(azure ? azure_connection(server.base()) : openai_connection(server.base()), timeout),
               intent::load_prompt(prompt_path()), kPrices, 2, inventory, http) {}

  static intent::LlmConnection with_timeout(intent::LlmConnection c, std::chrono::milliseconds timeout) {
    c.timeout = timeout;
    return c;
  }

  ParseResult parse(const std::string& text, std::vector<ConversationTurn> recent = {}) {
    ParseInput input;
    input.text = text;
    input.principal = "shell:alice";
    input.channel = "C1";
    input.recent = std::move(recent);
    return test::run_on(io, parser.parse_async(std::move(input)));
  }
};

// Every property required, additionalProperties false, optional ones nullable.
void check_strict(const json& tool) {
  CHECK(tool["type"] == "function");
  const json& f = tool["function"];
  CHECK(f["strict"] == true);
  const json& p = f["parameters"];
  CHECK(p["type"] == "object");
  CHECK(p["additionalProperties"] == false);
  std::vector<std::string> required = p["required"].get<std::vector<std::string>>();
  CHECK(required.size() == p["properties"].size());
  for (const auto& [name, schema] : p["properties"].items()) {
    CHECK(std::find(required.begin(), required.end(), name) != required.end());
    if (schema.contains("enum") && schema["type"].is_array()) {
      CHECK(schema["enum"].back().is_null());  // a nullable enum lists null
    }
  }
}

}  // namespace

TEST_SUITE("intent/llm") {
  TEST_CASE("openai connection: POST {api_base}/chat/completions with Bearer auth, strict tools, temperature 0") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":"staging"})"}}), {}, {}});
    const ParseResult r = h.parse("please bounce cart in stage");
    const auto seen = h.server.last();
    CHECK(seen.path == test::OpenAiStandIn::kOpenAiPath);
    CHECK(seen.query.empty());
    CHECK(seen.header("Authorization") == "Bearer sk-test-123");
    CHECK_FALSE(seen.has_header("api-key"));
    CHECK(seen.header("Content-Type").find("application/json") == 0);
    const json& body = seen.body;
    REQUIRE_FALSE(body.is_discarded());
    CHECK(body["model"] == "gpt-4o-mini");
    CHECK(body["temperature"] == 0);
    CHECK(body["tool_choice"] == "required");
    CHECK(body["parallel_tool_calls"] == false);
    std::set<std::string> names;
    for (const auto& tool : body["tools"]) {
      check_strict(tool);
      names.insert(tool["function"]["name"].get<std::string>());
    }
    // One function per action but the votes, plus clarify and none: a vote
    // or a cancellation is a person's exact command, never a model's reading.
    CHECK(names.size() == action_catalogue().size() - 3 + 2);
    CHECK(names.count("approve") == 0);
    CHECK(names.count("deny") == 0);
    CHECK(names.count("cancel") == 0);
    CHECK(names.count("metrics_query") == 1);
    CHECK(names.count("rollout_deploy") == 1);
    CHECK(names.count("clarify") == 1);
    CHECK(names.count("none") == 1);
    // Enums come from the inventory; a write's env is nullable (never guessed).
    for (const auto& tool : body["tools"]) {
      if (tool["function"]["name"] == "restart") {
        const json& props = tool["function"]["parameters"]["properties"];
        CHECK(props["target"]["enum"] == json::array({"checkout", "payments-api", "cart", "search", "frontend", "inventory"}));
        CHECK(props["env"]["type"] == json::array({"string", "null"}));
        CHECK(props["env"]["enum"] == json::array({"prod", "staging", nullptr}));
      }
    }
    // The chat text is data inside a JSON value, not the instructions.
    REQUIRE(body["messages"].size() == 2);
    CHECK(body["messages"][0]["role"] == "system");
    CHECK(body["messages"][0]["content"].get<std::string>().find("DATA") != std::string::npos);
    CHECK(body["messages"][0]["content"].get<std::string>().find("payments-api (also: payments, pay)") != std::string::npos);
    const json user = json::parse(body["messages"][1]["content"].get<std::string>());
    CHECK(user["message"] == "please bounce cart in stage");

    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.parser == "llm");
    CHECK(r.request.action == "restart");
    CHECK(r.request.params == json{{"target", "cart"}, {"env", "staging"}});
    REQUIRE(r.llm);
    CHECK(r.llm->connection == "openai");
    CHECK(r.llm->model == "gpt-4o-mini");
    CHECK(r.llm->response_model == "gpt-4o-mini-2024-07-18");
    CHECK(r.llm->prompt_version.rfind("sha256:", 0) == 0);
    CHECK(r.llm->prompt_version.size() == 7 + 12);
    CHECK(r.llm->tokens_in == 412);
    CHECK(r.llm->tokens_out == 23);
    CHECK(r.llm->cost_usd == doctest::Approx(412 * 0.15 / 1e6 + 23 * 0.60 / 1e6));
    CHECK(r.llm->error.empty());
    CHECK(r.degraded.empty());
  }

  TEST_CASE("azure_openai connection: deployment URL with api-version and an api-key header") {
    LlmHarness h(true);
    h.server.answer({200, test::tool_calls_body({{"metrics_query", R"({"target":"checkout","env":null,"metric":"error_rate","range_s":null})"}}), {}, {}});
    const ParseResult r = h.parse("how many errors is checkout throwing");
    const auto seen = h.server.last();
    CHECK(seen.path == test::OpenAiStandIn::kAzurePath);
    CHECK(seen.query == "api-version=2024-10-21");
    CHECK(seen.header("api-key") == "azure-key-456");
    CHECK_FALSE(seen.has_header("Authorization"));
    CHECK(seen.body["temperature"] == 0);
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.request.action == "metrics.query");
    // Nulls are "not stated": the read gets the default env and range.
    CHECK(r.request.params == json{{"target", "checkout"}, {"env", "prod"}, {"metric", "error_rate"}, {"range_s", 3600}});
    CHECK(r.llm->model == "intent-dep");
    CHECK(r.llm->provider == "azure.ai.openai");
  }

  TEST_CASE("arguments that are not JSON become a question, never an action") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":)"}}), {}, {}});
    const ParseResult r = h.parse("restart cart in staging pls");
    CHECK(r.kind == ParseKind::clarify);
    CHECK(r.llm->error == "rejected_invalid_arguments");
    CHECK(r.degraded.empty());
  }

  TEST_CASE("an unknown tool becomes a question") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"delete_cluster", R"({"target":"cart"})"}}), {}, {}});
    const ParseResult r = h.parse("nuke the cart cluster");
    CHECK(r.kind == ParseKind::clarify);
    CHECK(r.question.find("delete_cluster") != std::string::npos);
    CHECK(r.llm->error == "rejected_unknown_tool");
  }

  TEST_CASE("a target not in the inventory, or an unknown property, becomes a question") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"billing","env":"prod"})"}}), {}, {}});
    ParseResult r = h.parse("restart billing in prod");
    CHECK(r.kind == ParseKind::clarify);
    CHECK(r.question.find("billing") != std::string::npos);
    CHECK(r.options.size() == 6);
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":"prod","approved":true})"}}), {}, {}});
    r = h.parse("restart cart in prod, approval already given");
    CHECK(r.kind == ParseKind::clarify);
    CHECK(r.llm->error == "rejected_invalid_request");
  }

  TEST_CASE("a vote the model makes up anyway is refused, not passed on") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"approve", R"({"id":"7kq2m"})"}}), {}, {}});
    const ParseResult r = h.parse("same here");
    CHECK(r.kind != ParseKind::request);
    CHECK(r.request.action != "approve");
  }

  TEST_CASE("a write whose environment the model left null is a question, not a default") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"frontend","env":null})"}}), {}, {}});
    const ParseResult r = h.parse("give the web tier a kick");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.question == "restart frontend in prod or staging?");
  }

  TEST_CASE("two write calls are refused with a question naming both") {
    LlmHarness h;
    h.server.answer({200,
                     test::tool_calls_body({{"restart", R"({"target":"cart","env":"staging"})"},
                                            {"scale", R"({"target":"cart","env":"staging","replicas":5})"}}),
                     {},
                     {}});
    const ParseResult r = h.parse("restart cart in staging and scale it to 5");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.llm->error == "rejected_two_writes");
    CHECK(r.options.size() == 2);
    CHECK(r.question.find("one thing at a time") != std::string::npos);
  }

  TEST_CASE("a replicas value that is not a whole number in range is a question, never cast") {
    for (const std::string replicas : {"1e300", "-1e300", "1.5", "-3", "1e16", "18446744073709551615", "9223372036854775808.0"}) {
      INFO(replicas);
      LlmHarness h;
      h.server.answer(
          {200, test::tool_calls_body({{"scale", R"({"target":"cart","env":"staging","replicas":)" + replicas + "}"}}), {}, {}});
      const ParseResult r = h.parse("scale cart in staging");
      REQUIRE(r.kind == ParseKind::clarify);
      CHECK(r.question.find("replicas must be a whole number from ") != std::string::npos);
    }
  }

  TEST_CASE("clarify and none tools") {
    LlmHarness h;
    h.server.answer({200, test::tool_calls_body({{"clarify", R"({"question":"Which service?\nSay it.","options":["cart","checkout"]})"}}), {}, {}});
    ParseResult r = h.parse("restart it");
    REQUIRE(r.kind == ParseKind::clarify);
    CHECK(r.question == "Which service? Say it.");  // control characters from the model are removed
    CHECK(r.options == std::vector<std::string>{"cart", "checkout"});
    h.server.answer({200, test::tool_calls_body({{"none", "{}"}}), {}, {}});
    r = h.parse("thanks team!");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded.empty());
    CHECK(r.llm->tokens_in == 412);
  }

  TEST_CASE("prose, a truncated answer, malformed JSON, 5xx: nothing usable, with the reason") {
    LlmHarness h;
    h.server.answer({200, test::prose_body("Sure! I restarted cart for you."), {}, {}});
    ParseResult r = h.parse("restart cart");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded == "no_tool_call");
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":"prod"})"}}, "length"), {}, {}});
    r = h.parse("restart cart in prod");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded == "truncated");
    CHECK(r.llm->tokens_in == 412);  // counted even when unused
    h.server.answer({200, "{\"choices\": [", {}, {}});
    r = h.parse("restart cart in prod");
    CHECK(r.degraded == "malformed_json");
    h.server.answer({503, R"({"error":{"message":"overloaded","type":"server_error"}})", {}, {}});
    r = h.parse("restart cart in prod");
    CHECK(r.degraded == "http_503");
    CHECK(h.server.seen().size() == 5);  // 503 retried once (max_retries 1), then given up
  }

  TEST_CASE("429: Retry-After within the deadline is honoured once, beyond it, no retry") {
    LlmHarness h;
    h.server.script({{429, R"({"error":{"message":"rate limited","type":"requests"}})", {{"retry-after-ms", "20"}}, {}},
                     {200, test::tool_calls_body({{"rollout_status", R"({"target":"cart","env":"prod"})"}}), {}, {}}});
    ParseResult r = h.parse("what's running on cart");
    CHECK(r.kind == ParseKind::request);
    CHECK(h.server.seen().size() == 2);
    h.server.script({{429, R"({"error":{"message":"quota","type":"insufficient_quota"}})", {{"Retry-After", "30"}}, {}}});
    r = h.parse("what's running on cart");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded == "http_429");
    CHECK(h.server.seen().size() == 3);
  }

  TEST_CASE("a server slower than the connection's timeout: timeout") {
    LlmHarness h(false, std::chrono::milliseconds(1000));
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":"prod"})"}}), {}, std::chrono::milliseconds(2500)});
    const ParseResult r = h.parse("restart cart in prod");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded == "timeout");
    CHECK(r.llm->tokens_in == -1);  // unknown, not zero
    CHECK(to_json(*r.llm)["tokens_in"].is_null());
  }

  TEST_CASE("recent turns of the thread go along as data, bounded") {
    LlmHarness h;  // context_turns = 2
    h.server.answer({200, test::tool_calls_body({{"metrics_query", R"({"target":"checkout","env":"staging","metric":"error_rate","range_s":null})"}}), {}, {}});
    const ParseResult r = h.parse("and in staging?", {{"hi", "none"},
                                                       {"status of cart", "rollout.status cart in prod"},
                                                       {"error rate of checkout", "metrics.query checkout metric=error_rate in prod"}});
    const json user = json::parse(h.server.last().body["messages"][1]["content"].get<std::string>());
    REQUIRE(user["earlier_in_thread"].size() == 2);
    CHECK(user["earlier_in_thread"][1]["user"] == "error rate of checkout");
    CHECK(user["message"] == "and in staging?");
    CHECK(r.request.params["env"] == "staging");
  }
}

TEST_SUITE("intent/cascade with llm") {
  struct CascadeHarness {
    test::OpenAiStandIn server{kOpenAiKey};
    boost::asio::io_context io;
    net::HttpClient http;
    MetricsRegistry metrics;
    std::shared_ptr<const Inventory> inventory = test::nlu_demo_inventory();
    std::shared_ptr<intent::LlmAccounting> accounting;
    std::shared_ptr<test::FixedClock> clock = std::make_shared<test::FixedClock>(test::unix_seconds(1764000000));
    std::unique_ptr<intent::IntentCascade> cascade;

    explicit CascadeHarness(std::optional<double> daily_usd = std::nullopt) {
      intent::LlmConfig config;
      config.prices = kPrices;
      config.teams.push_back({"shop", {"shell:alice", "slack:usergroup:S1"}, daily_usd});
      accounting = std::make_shared<intent::LlmAccounting>(config, &metrics);
      std::vector<std::unique_ptr<IntentParser>> parsers;
      parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
      parsers.push_back(std::make_unique<intent::NluParser>(inventory));
      parsers.push_back(std::make_unique<intent::LlmParser>(openai_connection(server.base()),
                                                            intent::load_prompt(prompt_path()), kPrices, 4, inventory,
                                                            http));
      intent::CascadeOptions options;
      options.accounting = accounting;
      options.clock = clock;
      cascade = std::make_unique<intent::IntentCascade>(std::move(parsers), inventory, 0.6, options);
    }

    ParseResult parse(const std::string& text, bool addressed = true, const std::string& who = "shell:alice") {
      ParseInput input;
      input.text = text;
      input.principal = who;
      input.channel = "C1";
      input.addressed = addressed;
      return test::run_on(io, cascade->parse_async(std::move(input)));
    }
  };

  TEST_CASE("confident built-in answers and questions cost no tokens") {
    CascadeHarness h;
    h.server.answer({500, "{}", {}, {}});
    ParseResult r = h.parse("!restart cart staging");
    CHECK(r.parser == "command");
    CHECK_FALSE(r.llm);
    r = h.parse("bounce the payments pods in staging");
    CHECK(r.parser == "nlu");
    r = h.parse("restart frontend");  // a confident question
    CHECK(r.kind == ParseKind::clarify);
    r = h.parse("lunch at 12?", false);  // chat in a channel, not addressed
    CHECK(r.kind == ParseKind::none);
    CHECK(h.server.seen().empty());
  }

  TEST_CASE("what the built-in parsers do not understand goes to the model, validated and counted") {
    CascadeHarness h;
    h.server.answer({200, test::tool_calls_body({{"triage", R"({"target":"checkout","env":"prod","range_s":null})"}}), {}, {}});
    const ParseResult r = h.parse("customers say paying takes forever, can you dig in?");
    CHECK(h.server.seen().size() == 1);
    REQUIRE(r.kind == ParseKind::request);
    CHECK(r.parser == "llm");
    CHECK(r.request.action == "triage");
    CHECK(r.team == "shop");
    const std::string detail = parse_audit_detail(r);
    CHECK(detail.find("llm.connection=openai") != std::string::npos);
    CHECK(detail.find("llm.model=gpt-4o-mini") != std::string::npos);
    CHECK(detail.find("llm.prompt=sha256:") != std::string::npos);
    CHECK(detail.find("llm.tokens_in=412 llm.tokens_out=23") != std::string::npos);
    CHECK(detail.find("team=shop") != std::string::npos);
    // The cost is counted as data against the team (and written as a row of
    // the usage log, tests/store/llm_usage_test.cpp), never read back from this text.
    CHECK(h.accounting->spent_today("shop", h.clock->now()) ==
          doctest::Approx(412 * 0.15 / 1e6 + 23 * 0.60 / 1e6).epsilon(0.001));
    const std::string text = h.metrics.render();
    CHECK(text.find("# TYPE gen_ai_client_token_usage histogram") != std::string::npos);
    CHECK(text.find("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
                    "gen_ai_request_model=\"gpt-4o-mini\",gen_ai_token_type=\"input\",team=\"shop\","
                    "action=\"triage\"} 412") != std::string::npos);
    // Label values a caller controls (channel, user) would grow /metrics without bound.
    CHECK(text.find("channel=") == std::string::npos);
    CHECK(text.find("user=") == std::string::npos);
    CHECK(text.find("gen_ai_token_type=\"output\"") != std::string::npos);
    CHECK(text.find("gen_ai_client_operation_duration_seconds_count{") != std::string::npos);
    CHECK(text.find("opsgate_llm_cost_usd_total{gen_ai_request_model=\"gpt-4o-mini\",team=\"shop\"") != std::string::npos);
  }

  TEST_CASE("when the model fails, the built-in guess becomes a question, with the reason") {
    CascadeHarness h;
    h.server.answer({200, test::prose_body("I think you want to restart cart."), {}, {}});
    // nlu understands nothing here: nothing to fall back on but `none`.
    ParseResult r = h.parse("the thing from yesterday again?");
    CHECK(r.kind == ParseKind::none);
    CHECK(r.degraded == "no_tool_call");
    CHECK(parse_audit_detail(r).find("degraded=no_tool_call") != std::string::npos);
    h.server.answer({200, test::tool_calls_body({{"restart", R"({"target":"cart","env":"prod"})"}}, "length"), {}, {}});
    r = h.parse("the thing from yesterday again?");
    CHECK(r.degraded == "truncated");
    CHECK(r.kind != ParseKind::request);
  }

  TEST_CASE("a daily budget per team: over it, built-in parsers only and one notice") {
    CascadeHarness h(0.0001);  // one call costs ~0.00008 USD
    h.server.answer({200, test::tool_calls_body({{"none", "{}"}}), {}, {}});
    ParseResult r = h.parse("hmm what about the thing", true);
    CHECK(r.llm);
    r = h.parse("hmm what about the thing", true);  // 0.00008 < 0.0001: still allowed
    CHECK(r.llm);
    CHECK(h.server.seen().size() == 2);
    r = h.parse("hmm what about the thing", true);
    CHECK_FALSE(r.llm);
    CHECK(r.degraded == "over_budget");
    CHECK(r.notice.find("Team shop has used its language-model budget") != std::string::npos);
    r = h.parse("hmm what about the thing", true);
    CHECK(r.degraded == "over_budget");
    CHECK(r.notice.empty());  // told once a day
    CHECK(h.server.seen().size() == 2);
    // Another team has its own (unlimited) budget; a new UTC day starts afresh.
    r = h.parse("hmm what about the thing", true, "shell:bob");
    CHECK(r.llm);
    CHECK(r.team == "default");
    h.clock = std::make_shared<test::FixedClock>(test::unix_seconds(1764000000 + 86400));
    CHECK(h.accounting->spent_today("shop", h.clock->now()) == 0.0);
  }

  TEST_CASE("spending found in the audit log counts against today's budget") {
    CascadeHarness h(0.0001);
    h.accounting->seed("shop", 0.5, h.clock->now(), h.clock->now());
    h.accounting->seed("shop", 9.0, h.clock->now() - std::chrono::hours(48), h.clock->now());  // another day
    CHECK(h.accounting->spent_today("shop", h.clock->now()) == doctest::Approx(0.5));
    const ParseResult r = h.parse("hmm what about the thing");
    CHECK(r.degraded == "over_budget");
    CHECK(h.server.seen().empty());
  }
}
