#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "actions/loki/logs_action.hpp"
#include "src/core/time_zone.hpp"
#include "src/core/config_node.hpp"
#include "tests/actions/exec_test_support.hpp"
#include "tests/support/loki_stand_in.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using opsgate::ActionRequest;
using opsgate::ActionResult;
using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Errc;
using opsgate::Result;
using opsgate::actions::loki::LineFormat;
using opsgate::actions::loki::LogFileConfig;
using opsgate::actions::loki::make_file_logs_action;
using opsgate::actions::loki::parse_logfile_config;
using opsgate::test::FixedClock;
using opsgate::test_exec::TempDir;

constexpr std::int64_t kNow = 1795548900;  // 2026-11-24T19:35:00Z

// The RFC 3339 time `seconds_ago` before kNow.
std::string ago(std::int64_t seconds_ago) {
  return opsgate::format_rfc3339_utc((kNow - seconds_ago) * 1'000'000'000);
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The file logs action over one config, with a fixed clock.
class Harness {
 public:
  explicit Harness(const LogFileConfig& config, std::int64_t now = kNow)
      : clock_(opsgate::test::unix_seconds(now)),
        action_(make_file_logs_action(config, opsgate::test::loki_test_inventory(), clock_)) {}

  Result<ActionResult> search(json params) {
    ActionRequest request;
    request.action = "logs.search";
    request.params = std::move(params);
    return opsgate::test::run_on(io_, action_->execute(std::move(request)));
  }

 private:
  boost::asio::io_context io_;
  FixedClock clock_;
  std::unique_ptr<opsgate::Action> action_;
};

LogFileConfig config_for(const TempDir& dir) {
  LogFileConfig config;
  config.paths = {dir.str() + "/{target}-{env}.log"};
  return config;
}

json checkout(json extra = json::object()) {
  json params = {{"target", "checkout"}, {"env", "prod"}, {"range_s", 900}, {"limit", 20}};
  params.update(extra);
  return params;
}

// Four lines in the last 15 minutes, one older, one without a time.
std::string checkout_log() {
  return "ts=" + ago(7200) + " level=error msg=\"old failure\"\n" +
         "ts=" + ago(600) + " level=info msg=\"POST /api/checkout 200\" duration_ms=31\n" +
         "ts=" + ago(300) + " level=error msg=\"upstream payments-api timeout\" password=hunter2\n" +
         "garbage without a time level=error timeout\n" +
         "ts=" + ago(120) + " level=WARNING msg=\"retrying payment authorization\" attempt=2\n" +
         "ts=" + ago(60) + " level=error msg=\"POST /api/checkout 500\" err=timeout\r\n";
}

std::string config_error(const std::string& yaml) {
  try {
    parse_logfile_config(ConfigNode::parse(yaml, "test.yaml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("actions/logfile/action") {
  TEST_CASE("lines in the range come back newest first, redacted, with counts per level") {
    TempDir dir;
    write_file(dir.path() / "checkout-prod.log", checkout_log());
    Harness harness(config_for(dir));
    const auto result = harness.search(checkout());
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    CHECK(result->summary ==
          "checkout in prod, last 15m: 4 lines, newest first (times UTC)\n"
          "by level over the last 15m: error 2, warn 1, info 1\n"
          "2026-11-24 19:34:00  level=error msg=\"POST /api/checkout 500\" err=timeout\n"
          "2026-11-24 19:33:00  level=WARNING msg=\"retrying payment authorization\" attempt=2\n"
          "2026-11-24 19:30:00  level=error msg=\"upstream payments-api timeout\" password=[REDACTED]\n"
          "2026-11-24 19:25:00  level=info msg=\"POST /api/checkout 200\" duration_ms=31\n"
          "(1 line without a readable ts, time or timestamp skipped)");
    CHECK(result->data["backend"] == "file");
    CHECK(result->data["files"] == json::array({dir.str() + "/checkout-prod.log"}));
    CHECK(result->data["lines"][1]["level"] == "warn");
    CHECK(result->data["more"] == false);
    CHECK(result->summary.find("hunter2") == std::string::npos);
    CHECK(result->data.dump().find("hunter2") == std::string::npos);
  }

  TEST_CASE("level, contains and limit filter, counts cover every level of the matching lines") {
    TempDir dir;
    write_file(dir.path() / "checkout-prod.log", checkout_log());
    Harness harness(config_for(dir));

    const auto errors = harness.search(checkout({{"level", "error"}}));
    REQUIRE(errors);
    CHECK(errors->data["lines"].size() == 2);
    CHECK(errors->summary.find("checkout in prod, last 15m at level error: 2 lines") == 0);
    CHECK(errors->data["levels"] == json{{"error", 2}, {"info", 1}, {"warn", 1}});

    const auto timeouts = harness.search(checkout({{"contains", "timeout"}}));
    REQUIRE(timeouts);
    CHECK(timeouts->data["lines"].size() == 2);
    CHECK(timeouts->data["levels"] == json{{"error", 2}});

    const auto warn = harness.search(checkout({{"level", "warn"}, {"contains", "payment"}}));
    REQUIRE(warn);
    REQUIRE(warn->data["lines"].size() == 1);
    CHECK(warn->data["lines"][0]["line"] == "ts=" + ago(120) + " level=WARNING msg=\"retrying payment authorization\" attempt=2");

    const auto newest = harness.search(checkout({{"limit", 2}}));
    REQUIRE(newest);
    CHECK(newest->data["more"] == true);
    CHECK(newest->summary.find("checkout in prod, last 15m: the 2 newest lines, newest first") == 0);
    REQUIRE(newest->data["lines"].size() == 2);
    CHECK(newest->data["lines"][0]["time"] == "2026-11-24T19:34:00Z");
    CHECK(newest->data["lines"][1]["time"] == "2026-11-24T19:33:00Z");

    const auto wide = harness.search(checkout({{"range_s", 3 * 3600}}));
    REQUIRE(wide);
    CHECK(wide->data["lines"].size() == 5);
  }

  TEST_CASE("JSON lines and logfmt lines mix, a glob reads every matching file") {
    TempDir dir;
    write_file(dir.path() / "checkout-prod.log", "ts=" + ago(100) + " level=info msg=\"from logfmt\"\n");
    write_file(dir.path() / "checkout-prod.1.log",
               json{{"time", ago(50)}, {"level", "error"}, {"msg", "from json"}, {"token", "abc123"}}.dump() + "\n" +
                   json{{"timestamp", kNow - 20}, {"severity", "ERROR"}, {"msg", "epoch seconds"}}.dump() + "\n");
    write_file(dir.path() / "cart-prod.log", "ts=" + ago(10) + " level=info msg=\"cart, not checkout\"\n");
    LogFileConfig config;
    config.paths = {dir.str() + "/{target}-{env}*.log"};
    Harness harness(config);
    const auto result = harness.search(checkout());
    REQUIRE_MESSAGE(result, (result ? "" : result.error().message));
    REQUIRE(result->data["lines"].size() == 3);
    CHECK(result->data["lines"][0]["line"] == R"({"msg":"epoch seconds","severity":"ERROR","timestamp":1795548880})");
    CHECK(result->data["lines"][1]["line"] == R"({"level":"error","msg":"from json","time":"2026-11-24T19:34:10Z","token":"[REDACTED]"})");
    CHECK(result->data["lines"][2]["line"] == "ts=" + ago(100) + " level=info msg=\"from logfmt\"");
    CHECK(result->data["files"].size() == 2);

    config.format = LineFormat::logfmt;
    Harness logfmt_only(config);
    const auto strict = logfmt_only.search(checkout());
    REQUIRE(strict);
    CHECK(strict->data["lines"].size() == 1);
    CHECK(strict->data["lines_without_time"] == 2);
  }

  TEST_CASE("a missing file is a clear not-found error") {
    TempDir dir;
    Harness harness(config_for(dir));
    const auto result = harness.search(checkout());
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::not_found);
    CHECK(result.error().message == "no logs for checkout in prod: no log file matches " + dir.str() +
                                        "/checkout-prod.log (actions.logfile.paths)");
  }

  TEST_CASE("an empty search says which files were read") {
    TempDir dir;
    write_file(dir.path() / "checkout-prod.log", checkout_log());
    Harness harness(config_for(dir));
    const auto result = harness.search(checkout({{"contains", "no such text"}}));
    REQUIRE(result);
    CHECK(result->summary == "no log lines for checkout in prod in the last 15m matching 'no such text'; searched " +
                                 dir.str() + "/checkout-prod.log");
  }

  TEST_CASE("only the end of a large file is read, from a whole line on") {
    TempDir dir;
    std::string text;
    for (int i = 0; i < 400; ++i) {
      text += "ts=" + ago(800 - i) + " level=info msg=\"line " + std::to_string(i) + "\" pad=" + std::string(40, 'p') + "\n";
    }
    write_file(dir.path() / "checkout-prod.log", text);
    LogFileConfig config = config_for(dir);
    config.max_bytes_per_file = 4096;
    Harness harness(config);
    const auto result = harness.search(checkout({{"limit", 500}}));
    REQUIRE(result);
    const auto& lines = result->data["lines"];
    CHECK(lines.size() < 100);
    CHECK(lines[0]["line"].get<std::string>().find("msg=\"line 399\"") != std::string::npos);
    for (const auto& line : lines) {
      CHECK(line["line"].get<std::string>().find(" level=info msg=\"line ") == 23);
    }
    CHECK(result->summary.find("(read only the last 0 MiB") == std::string::npos);
    CHECK(result->summary.find("(read only the last 4 KiB of " + dir.str() + "/checkout-prod.log)") != std::string::npos);
    CHECK(result->summary.find("(limit 500 is above this backend's maximum; showed at most 200)") != std::string::npos);
  }

  TEST_CASE("times are shown in the configured zone") {
    TempDir dir;
    write_file(dir.path() / "checkout-prod.log", checkout_log());
    LogFileConfig config = config_for(dir);
    config.output.timezone = "Europe/Berlin";
    config.output.line_width = 40;
    Harness harness(config);
    const auto result = harness.search(checkout({{"limit", 1}}));
    REQUIRE(result);
    CHECK(result->summary.find("(times Europe/Berlin)") != std::string::npos);
    CHECK(result->summary.find("\n2026-11-24 20:34:00  level=error msg=\"POST /api/checkout 500…\n") !=
          std::string::npos);
  }

  TEST_CASE("the demo logs tell the checkout incident, with the secrets hidden") {
    TempDir dir;
    const std::string command = std::string(OPSGATE_SOURCE_DIR) + "/scripts/demo-logs --out " + dir.str() +
                                " --now " + std::to_string(kNow) + " > /dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
    for (const std::string target : {"checkout", "payments-api", "cart", "search", "frontend", "inventory"}) {
      for (const std::string env : {"prod", "staging"}) {
        CHECK_MESSAGE(fs::exists(dir.path() / (target + "-" + env + ".log")), target << "-" << env);
      }
    }
    LogFileConfig config = config_for(dir);
    Harness harness(config);

    const auto errors = harness.search(checkout({{"level", "error"}, {"range_s", 1800}}));
    REQUIRE_MESSAGE(errors, (errors ? "" : errors.error().message));
    CHECK(errors->data["more"] == true);
    CHECK(errors->summary.find("POST /api/checkout 500") != std::string::npos);
    CHECK(errors->data["levels"]["error"].get<int>() > 30);
    CHECK(errors->data["levels"]["info"].get<int>() > 10);

    const auto secret = harness.search(checkout({{"contains", "authorization failed"}, {"range_s", 1800}}));
    REQUIRE(secret);
    REQUIRE(secret->data["lines"].size() == 1);
    CHECK(secret->summary.find("password=[REDACTED]") != std::string::npos);
    CHECK(secret->data["lines"][0]["line"].get<std::string>().find(
              "header=\"Authorization: Bearer [REDACTED]\"") != std::string::npos);
    CHECK(secret->summary.find("hunter2") == std::string::npos);
    CHECK(secret->data.dump().find("tok_demo") == std::string::npos);

    const auto before = harness.search(checkout({{"level", "error"}, {"range_s", 3600}}));
    REQUIRE(before);
    CHECK(before->data["levels"]["error"] == errors->data["levels"]["error"]);

    const auto cart = harness.search({{"target", "cart"}, {"env", "prod"}, {"level", "error"}, {"range_s", 1800}, {"limit", 20}});
    REQUIRE(cart);
    CHECK(cart->summary.rfind("no log lines for cart in prod in the last 30m at level error; searched ", 0) == 0);
  }
}

TEST_SUITE("actions/logfile/config") {
  TEST_CASE("log file: every key is read") {
    const LogFileConfig config = parse_logfile_config(ConfigNode::parse(
        "paths: [\"var/demo-logs/{target}-{env}.log\", \"/var/log/{namespace}/{deployment}*.log\"]\n"
        "format: json\n"
        "max_bytes_per_file: 1048576\n"
        "max_files: 4\n"
        "threads: 3\n"
        "max_limit: 50\n"
        "line_width: 100\n"
        "timezone: +02:00\n",
        "test.yaml"));
    CHECK(config.paths.size() == 2);
    CHECK(config.format == LineFormat::json);
    CHECK(config.max_bytes_per_file == 1048576);
    CHECK(config.max_files == 4);
    CHECK(config.threads == 3);
    CHECK(config.output.max_limit == 50);
    CHECK(config.output.line_width == 100);
    CHECK(config.output.timezone == "+02:00");
    const LogFileConfig defaults = parse_logfile_config(ConfigNode::parse("paths: [a.log]\n", "test.yaml"));
    CHECK(defaults.format == LineFormat::automatic);
    CHECK(defaults.max_bytes_per_file == 16 * 1024 * 1024);
    CHECK(defaults.threads == 2);
  }

  TEST_CASE("log file: mistakes name the file, line and key") {
    CHECK(config_error("paths: [\"{target}-{pod}.log\"]\n").find("unknown placeholder {pod}") != std::string::npos);
    CHECK(config_error("paths: [\"{target}-{pod}.log\"]\n").find("test.yaml:1") != std::string::npos);
    CHECK(config_error("paths: []\n").find("paths") != std::string::npos);
    CHECK(config_error("format: logfmt\n").find("paths") != std::string::npos);
    CHECK(config_error("paths: [a.log]\nformat: xml\n").find("expected auto, logfmt or json") != std::string::npos);
    CHECK(config_error("paths: [a.log]\npath: b.log\n").find("path") != std::string::npos);
    CHECK(config_error("paths: [a.log]\nthreads: 0\n").find("threads") != std::string::npos);
    CHECK(config_error("paths: [a.log]\ntimezone: Nowhere/Atlantis\n").find("timezone") != std::string::npos);
    CHECK(config_error("paths: [a.log]\n").empty());
  }

  TEST_CASE("the factory refuses a config it could not have parsed") {
    FixedClock clock(opsgate::test::unix_seconds(kNow));
    LogFileConfig config;
    CHECK_THROWS_AS(make_file_logs_action(config, opsgate::test::loki_test_inventory(), clock), ConfigError);
    config.paths = {"{nope}.log"};
    CHECK_THROWS_AS(make_file_logs_action(config, opsgate::test::loki_test_inventory(), clock), ConfigError);
  }
}
