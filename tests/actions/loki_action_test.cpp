#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "actions/loki/logs_action.hpp"
#include "src/core/config_node.hpp"
#include "tests/support/loki_stand_in.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;
using opsgate::ActionRequest;
using opsgate::ActionResult;
using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Errc;
using opsgate::Result;
using opsgate::Secret;
using opsgate::actions::loki::LevelFilter;
using opsgate::actions::loki::LokiConfig;
using opsgate::actions::loki::make_loki_logs_action;
using opsgate::actions::loki::parse_loki_config;
using opsgate::test::FixedClock;
using opsgate::test::loki_fixture;
using opsgate::test::LokiReply;
using opsgate::test::LokiStandIn;

// The fixtures' lines are from 2026-11-24 19:20 to 19:35 UTC.
constexpr std::int64_t kNow = 1795548900;
const std::string kSelector = R"({app="checkout",namespace="shop-prod"})";

// The Loki logs action against one stand-in, with an HTTP client and a fixed clock.
class Harness {
 public:
  explicit Harness(const LokiConfig& config)
      : clock_(opsgate::test::unix_seconds(kNow)),
        action_(make_loki_logs_action(config, opsgate::test::loki_test_inventory(), client_, clock_)) {}

  Result<ActionResult> search(json params) {
    ActionRequest request;
    request.action = "logs.search";
    request.params = std::move(params);
    return opsgate::test::run_on(io_, action_->execute(std::move(request)));
  }

 private:
  asio::io_context io_;
  opsgate::net::HttpClient client_;
  FixedClock clock_;
  std::unique_ptr<opsgate::Action> action_;
};

LokiConfig config_for(const std::string& url) {
  LokiConfig config;
  config.connection.url = url;
  config.connection.timeout = 3s;
  return config;
}

json checkout(json extra = json::object()) {
  json params = {{"target", "checkout"}, {"env", "prod"}, {"range_s", 900}, {"limit", 20}};
  params.update(extra);
  return params;
}

LokiReply ok(std::string body) { return LokiReply{200, "application/json; charset=UTF-8", std::move(body), 0ms}; }

std::string vector_counts(const json& counts) {
  json result = json::array();
  for (const auto& [level, count] : counts.items()) {
    result.push_back({{"metric", {{"level", level}}}, {"value", {kNow, std::to_string(count.get<int>())}}});
  }
  return json{{"status", "success"}, {"data", {{"resultType", "vector"}, {"result", result}}}}.dump();
}

std::string streams(const json& result) {
  return json{{"status", "success"}, {"data", {{"resultType", "streams"}, {"result", result}}}}.dump();
}

std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

std::string config_error(const std::string& yaml) {
  try {
    parse_loki_config(ConfigNode::parse(yaml, "test.yaml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("actions/loki/action") {
  TEST_CASE("the captured streams come back newest first in the configured zone, levels counted in the lines") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("query_range_streams.json")));
    loki.answer(LokiStandIn::kQuery, ok(loki_fixture("matrix.json")));
    LokiConfig config = config_for(loki.url());
    config.output.timezone = "Europe/Berlin";
    Harness harness(config);

    const auto result = harness.search(checkout({{"contains", "timeout"}}));
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    CHECK(result->summary ==
          "checkout in prod, last 15m matching 'timeout': 2 lines, newest first (times Europe/Berlin)\n"
          "by level, in these lines: error 2\n"
          "2026-11-24 20:30:37  level=error msg=\"payment timeout\" trace=abc\n"
          "2026-11-24 20:20:14  level=error msg=\"payment timeout\" trace=abc\n"
          "(Loki's counts carry no `level` label; the levels were counted in the lines shown)");
    CHECK(result->data["lines"][0]["time"] == "2026-11-24T19:30:37.967654989Z");
    CHECK(result->data["lines"][0]["level"] == "error");
    CHECK(result->data["levels"] == json{{"error", 2}});
    CHECK(result->data["levels_from_lines"] == true);
    CHECK(result->data["more"] == false);
    CHECK(result->data["backend"] == "loki");

    const auto lines = loki.last(LokiStandIn::kQueryRange);
    CHECK(lines.params.at("query") == kSelector + " |= \"timeout\"");
    CHECK(lines.params.at("start") == "1795548000000000000");
    CHECK(lines.params.at("end") == "1795548900000000000");
    CHECK(lines.params.at("limit") == "20");
    CHECK(lines.params.at("direction") == "backward");
    const auto counts = loki.last(LokiStandIn::kQuery);
    CHECK(counts.params.at("query") ==
          "sum by (level) (count_over_time(" + kSelector + " |= \"timeout\" [900s]))");
    CHECK(counts.params.at("time") == "1795548900000000000");
    CHECK(result->data["query"] == lines.params.at("query"));
  }

  TEST_CASE("chat text is escaped inside the line filter and never reaches the selector") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("empty.json")));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts(json::object())));
    Harness harness(config_for(loki.url()));

    REQUIRE(harness.search(checkout({{"contains", "a\"b\\c"}})));
    CHECK(loki.last(LokiStandIn::kQueryRange).params.at("query") == kSelector + R"( |= "a\"b\\c")");

    REQUIRE(harness.search(checkout({{"contains", "\"} or {app=~\".+"}})));
    const std::string query = loki.last(LokiStandIn::kQueryRange).params.at("query");
    CHECK(query == kSelector + R"( |= "\"} or {app=~\".+")");
    CHECK(query.rfind(kSelector + " |= \"", 0) == 0);
  }

  TEST_CASE("the level becomes a label matcher, a parser stage or a line regex, as configured") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("empty.json")));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts(json::object())));
    const json params = checkout({{"level", "error"}});

    LokiConfig config = config_for(loki.url());
    {
      Harness harness(config);
      REQUIRE(harness.search(params));
      CHECK(loki.last(LokiStandIn::kQueryRange).params.at("query") ==
            R"({app="checkout",namespace="shop-prod",level="error"})");
      // Counted without the level filter, so that every level shows.
      CHECK(loki.last(LokiStandIn::kQuery).params.at("query") ==
            "sum by (level) (count_over_time(" + kSelector + " [900s]))");
    }
    config.level_filter = LevelFilter::logfmt;
    config.level_label = "lvl";
    {
      Harness harness(config);
      REQUIRE(harness.search(params));
      CHECK(loki.last(LokiStandIn::kQueryRange).params.at("query") == kSelector + R"( | logfmt | lvl="error")");
      CHECK(loki.last(LokiStandIn::kQuery).params.at("query") ==
            "sum by (lvl) (count_over_time(" + kSelector + R"x( | logfmt | __error__="" [900s])))x");
    }
    config.level_filter = LevelFilter::json;
    config.level_label = "level";
    {
      Harness harness(config);
      REQUIRE(harness.search(params));
      CHECK(loki.last(LokiStandIn::kQueryRange).params.at("query") == kSelector + R"( | json | level="error")");
    }
    config.level_filter = LevelFilter::line;
    {
      const auto before = loki.seen().size();
      Harness harness(config);
      REQUIRE(harness.search(params));
      CHECK(loki.last(LokiStandIn::kQueryRange).params.at("query") ==
            kSelector + R"( |~ `(?i)\blevel"?\s*[=:]\s*"?error\b`)");
      // No label to count by: only the lines query is sent.
      CHECK(loki.seen().size() == before + 1);
    }
  }

  TEST_CASE("tenant and bearer token are sent as headers") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("empty.json")));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts(json::object())));
    LokiConfig config = config_for(loki.url());
    config.tenant = "shop";
    config.connection.bearer_token = Secret("s3cr3t-token-123", "test");
    Harness harness(config);
    REQUIRE(harness.search(checkout()));
    for (const auto& seen : loki.seen()) {
      CHECK(seen.header("X-Scope-OrgID") == "shop");
      CHECK(seen.header("Authorization") == "Bearer s3cr3t-token-123");
    }
    CHECK(loki.seen().size() == 2);
  }

  TEST_CASE("basic auth is sent when configured, and no tenant header without a tenant") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("empty.json")));
    LokiConfig config = config_for(loki.url());
    config.level_counts = false;
    config.connection.basic_user = "opsgate";
    config.connection.basic_password = Secret("pw", "test");
    Harness harness(config);
    REQUIRE(harness.search(checkout()));
    const auto seen = loki.last(LokiStandIn::kQueryRange);
    CHECK(seen.header("Authorization") == "Basic b3BzZ2F0ZTpwdw==");
    CHECK(seen.header("X-Scope-OrgID") == "");
    CHECK(loki.seen().size() == 1);
  }

  TEST_CASE("lines are merged across streams, redacted, cut to width, and counted per level by Loki") {
    LokiStandIn loki;
    const std::string long_line = "level=info msg=\"" + std::string(300, 'x') + "\"";
    loki.answer(LokiStandIn::kQueryRange,
                ok(streams(json::array(
                    {{{"stream", {{"app", "checkout"}, {"level", "error"}}},
                      {"values",
                       json::array({json::array({"1795548890000000000", "level=error msg=\"login failed\" "
                                                                        "password=hunter2 Authorization: Bearer abcdef123456"}),
                                    json::array({"1795548700000000000", "level=error msg=\"POST /api/checkout 500\""})})}},
                     {{"stream", {{"app", "checkout"}, {"level", "info"}}},
                      {"values", json::array({json::array({"1795548800000000000", long_line})})}}}))));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts({{"error", 57}, {"info", 120}, {"warning", 3}})));
    LokiConfig config = config_for(loki.url());
    config.output.line_width = 60;
    Harness harness(config);

    const auto result = harness.search(checkout({{"limit", 3}}));
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    const std::string& s = result->summary;
    CHECK(s.find("checkout in prod, last 15m: the 3 newest lines, newest first (times UTC)\n") == 0);
    CHECK(s.find("by level over the last 15m: error 57, warn 3, info 120\n") != std::string::npos);
    CHECK(s.find("2026-11-24 19:34:50  level=error msg=\"login failed\" password=[REDACTED] Authoriz…\n") !=
          std::string::npos);
    CHECK(s.find("hunter2") == std::string::npos);
    CHECK(s.find("abcdef123456") == std::string::npos);
    CHECK(s.find("2026-11-24 19:33:20  level=info msg=\"" + std::string(43, 'x') + "…\n") != std::string::npos);
    CHECK(s.find("2026-11-24 19:31:40  level=error msg=\"POST /api/checkout 500\"") != std::string::npos);
    CHECK(s.find("19:34:50") < s.find("19:33:20"));
    CHECK(s.find("19:33:20") < s.find("19:31:40"));
    // Data keeps longer lines, still redacted.
    CHECK(result->data["lines"][0]["line"] ==
          "level=error msg=\"login failed\" password=[REDACTED] Authorization: Bearer [REDACTED]");
    CHECK(result->data["lines"][1]["line"] == long_line);
    CHECK(result->data["levels"] == json{{"error", 57}, {"info", 120}, {"warn", 3}});
    CHECK(result->data["more"] == true);
    REQUIRE(result->suggestions.size() == 2);
    CHECK(result->suggestions[0].command == "!logs checkout prod level=error range=15m");
    CHECK(result->suggestions[1].command == "!triage checkout prod 15m");
  }

  TEST_CASE("an empty answer says what was searched and where") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("empty.json")));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts(json::object())));
    Harness harness(config_for(loki.url()));
    const auto result = harness.search(checkout({{"contains", "timeout"}}));
    REQUIRE(result);
    CHECK(result->summary ==
          "no log lines for checkout in prod in the last 15m matching 'timeout'; the selector is " + kSelector);
    CHECK(result->data["lines"] == json::array());

    loki.answer(LokiStandIn::kQuery, ok(vector_counts({{"info", 40}})));
    const auto other_levels = harness.search(checkout({{"contains", "timeout"}, {"level", "error"}}));
    REQUIRE(other_levels);
    CHECK(other_levels->summary == "no log lines for checkout in prod in the last 15m matching 'timeout' at level "
                                   "error; the selector is " +
                                       kSelector + "\n(lines in the range matching 'timeout', by level: info 40)");
  }

  TEST_CASE("a 400 with a plain-text body under a JSON content type shows Loki's text") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{400, "application/json; charset=UTF-8",
                                                    loki_fixture("parse_error.txt"), 0ms});
    Harness harness(config_for(loki.url()));
    const auto result = harness.search(checkout());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::upstream);
    CHECK(result.error().message ==
          "Loki refused the query (HTTP 400): parse error at line 1, col 16: syntax error: unexpected $end, "
          "expecting } or ,; the query was " +
              kSelector);
  }

  TEST_CASE("limits, failures and gateway timeouts are told apart") {
    LokiStandIn loki;
    Harness harness(config_for(loki.url()));

    loki.answer(LokiStandIn::kQueryRange,
                LokiReply{429, "text/plain; charset=utf-8", "too many outstanding requests\n", 0ms});
    auto limited = harness.search(checkout());
    REQUIRE_FALSE(limited);
    CHECK(limited.error().code == Errc::upstream);
    CHECK(limited.error().message ==
          "Loki is limiting queries (HTTP 429): too many outstanding requests; try a shorter range, or again in a minute");

    loki.answer(LokiStandIn::kQueryRange,
                LokiReply{500, "application/json; charset=UTF-8", "rpc error: code = Unavailable token=abc123\n", 0ms});
    auto failed = harness.search(checkout());
    REQUIRE_FALSE(failed);
    CHECK(failed.error().message == "Loki failed (HTTP 500): rpc error: code = Unavailable token=[REDACTED]");

    loki.answer(LokiStandIn::kQueryRange, LokiReply{504, "text/plain", "", 0ms});
    auto gateway = harness.search(checkout());
    REQUIRE_FALSE(gateway);
    CHECK(gateway.error().code == Errc::timeout);
    CHECK(gateway.error().message == "Loki gave up on the query (HTTP 504): (empty body); try a shorter range");

    loki.answer(LokiStandIn::kQueryRange, LokiReply{401, "text/plain", "no org id\n", 0ms});
    auto unauthorised = harness.search(checkout());
    REQUIRE_FALSE(unauthorised);
    CHECK(unauthorised.error().message.find("(HTTP 401): no org id") != std::string::npos);

    loki.answer(LokiStandIn::kQueryRange, ok("<html>proxy error</html>"));
    auto not_json = harness.search(checkout());
    REQUIRE_FALSE(not_json);
    CHECK(not_json.error().code == Errc::upstream);
    CHECK(not_json.error().message == "Loki's answer is not JSON: <html>proxy error</html>");

    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("matrix.json")));
    auto wrong_shape = harness.search(checkout());
    REQUIRE_FALSE(wrong_shape);
    CHECK(wrong_shape.error().message == "Loki's answer is not a list of streams");
  }

  TEST_CASE("a failed count query still shows the lines, with a note") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("query_range_streams.json")));
    loki.answer(LokiStandIn::kQuery, LokiReply{500, "text/plain", "too many series\n", 0ms});
    Harness harness(config_for(loki.url()));
    const auto result = harness.search(checkout());
    REQUIRE(result);
    CHECK(result->summary.find("by level, in these lines: error 2\n") != std::string::npos);
    CHECK(result->summary.find("\n(level counts unavailable: Loki failed (HTTP 500): too many series)") !=
          std::string::npos);
  }

  TEST_CASE("a Loki slower than the timeout is a timeout error") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, LokiReply{200, "application/json", loki_fixture("empty.json"), 2000ms});
    LokiConfig config = config_for(loki.url());
    config.connection.timeout = 300ms;
    Harness harness(config);
    // Loki would answer after 2 s: an error can only come from the 300 ms timeout.
    const auto result = harness.search(checkout());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::timeout);
    CHECK(result.error().message.rfind("Loki: ", 0) == 0);
    CHECK(result.error().message.find("did not answer within 300ms") != std::string::npos);
  }

  TEST_CASE("a Loki nobody listens for is unavailable") {
    Harness harness(config_for("http://127.0.0.1:" + std::to_string(closed_port())));
    const auto result = harness.search(checkout());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::unavailable);
    CHECK(result.error().message.rfind("Loki: cannot connect to http://127.0.0.1:", 0) == 0);
  }

  TEST_CASE("a target without a placement in the environment is not found") {
    LokiStandIn loki;
    Harness harness(config_for(loki.url()));
    const auto result = harness.search({{"target", "search"}, {"env", "prod"}});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::not_found);
    CHECK(loki.seen().empty());
  }

  TEST_CASE("a limit above max_limit is cut and said so") {
    LokiStandIn loki;
    loki.answer(LokiStandIn::kQueryRange, ok(loki_fixture("query_range_streams.json")));
    loki.answer(LokiStandIn::kQuery, ok(vector_counts({{"error", 2}})));
    LokiConfig config = config_for(loki.url());
    config.output.max_limit = 50;
    Harness harness(config);
    const auto result = harness.search(checkout({{"limit", 500}}));
    REQUIRE(result);
    CHECK(loki.last(LokiStandIn::kQueryRange).params.at("limit") == "50");
    CHECK(result->summary.find("(limit 500 is above this backend's maximum; showed at most 50)") != std::string::npos);
  }
}

TEST_SUITE("actions/loki/config") {
  TEST_CASE("loki: every key is read") {
    const LokiConfig config = parse_loki_config(ConfigNode::parse(
        "url: http://127.0.0.1:3100\n"
        "tenant: shop\n"
        "timeout: 5s\n"
        "level_filter: logfmt\n"
        "level_label: lvl\n"
        "level_counts: false\n"
        "max_limit: 100\n"
        "line_width: 120\n"
        "timezone: Europe/Berlin\n",
        "test.yaml"));
    CHECK(config.connection.url == "http://127.0.0.1:3100");
    CHECK(config.connection.timeout == 5s);
    CHECK(config.tenant == "shop");
    CHECK(config.level_filter == LevelFilter::logfmt);
    CHECK(config.level_label == "lvl");
    CHECK_FALSE(config.level_counts);
    CHECK(config.output.max_limit == 100);
    CHECK(config.output.line_width == 120);
    CHECK(config.output.timezone == "Europe/Berlin");

    const LokiConfig defaults = parse_loki_config(ConfigNode::parse("url: http://loki:3100\n", "test.yaml"));
    CHECK(defaults.level_filter == LevelFilter::label);
    CHECK(defaults.level_label == "level");
    CHECK(defaults.level_counts);
    CHECK(defaults.output.max_limit == 200);
    CHECK(defaults.output.line_width == 160);
    CHECK(defaults.output.timezone == "UTC");
    CHECK(defaults.tenant.empty());
  }

  TEST_CASE("loki: mistakes name the file, line and key") {
    CHECK(config_error("url: http://l:3100\nlevel_filter: regex\n").find("test.yaml:2") != std::string::npos);
    CHECK(config_error("url: http://l:3100\nlevel_filter: regex\n").find("expected label, logfmt, json or line") !=
          std::string::npos);
    CHECK(config_error("url: http://l:3100\ntimezone: Mars/Olympus\n").find("timezone") != std::string::npos);
    CHECK(config_error("url: http://l:3100\ntimezone: ../etc/passwd\n").find("not a time zone") != std::string::npos);
    CHECK(config_error("url: http://l:3100\ntenantt: shop\n").find("tenantt") != std::string::npos);
    CHECK(config_error("url: http://l:3100\ntenant: \"a b\"\n").find("tenant") != std::string::npos);
    CHECK(config_error("url: http://l:3100\nlevel_label: \"le vel\"\n").find("not a label name") != std::string::npos);
    CHECK(config_error("url: http://l:3100\nmax_limit: 501\n").find("max_limit") != std::string::npos);
    CHECK(config_error("url: http://l:3100\nline_width: 10\n").find("line_width") != std::string::npos);
    CHECK(config_error("tenant: shop\n").find("url") != std::string::npos);
    CHECK(config_error("url: http://l:3100\n").empty());
  }

  TEST_CASE("the factory refuses a selector without braces and an unknown zone") {
    opsgate::net::HttpClient client;
    FixedClock clock(opsgate::test::unix_seconds(kNow));
    std::vector<opsgate::Target> targets{
        {"cart", {}, "shop", {{"prod", opsgate::TargetPlacement{"shop-prod", "cart", "app=\"cart\"", "app=\"cart\""}}}}};
    auto bad_inventory = std::make_shared<const opsgate::Inventory>(
        std::move(targets), std::vector<opsgate::Environment>{{"prod", {}}}, "prod");
    LokiConfig config = config_for("http://127.0.0.1:3100");
    CHECK_THROWS_WITH_AS(make_loki_logs_action(config, bad_inventory, client, clock),
                         doctest::Contains("needs braces"), ConfigError);
    config.output.timezone = "Nowhere/Atlantis";
    CHECK_THROWS_AS(make_loki_logs_action(config, opsgate::test::loki_test_inventory(), client, clock), ConfigError);
  }
}
