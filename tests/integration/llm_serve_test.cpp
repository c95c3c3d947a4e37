#include <doctest/doctest.h>

#include "tests/support/openai_stand_in.hpp"
#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// The demo config on a free port and a temp database, with the llm parser
// pointed at the stand-in and a tiny daily budget.
std::string prepare_config(TempDir& dir, const std::string& api_base) {
  const std::string src = OPSGATE_SOURCE_DIR;
  const auto prepared = run_command(
      "sed -e \"s|listen: 127.0.0.1:8088|listen: 127.0.0.1:0|\" -e \"s|file: config/policy.yaml|file: " + src +
      "/config/policy.yaml|\" -e \"s|path: var/opsgate.db|path: " + dir.file("o.db") +
      "|\" -e \"s|parsers: \\[command, nlu\\] |parsers: [command, nlu, llm] |\" " +
      src + "/config/demo.yaml > " + dir.file("c.yaml"));
  REQUIRE(prepared.exit_code == 0);
  const std::string llm = "llm:\n"
                          "  prompt: " + src + "/config/prompts/intent.md\n"
                          "  connections:\n"
                          "    standin:\n"
                          "      type: openai\n"
                          "      api_base: " + api_base + "/v1\n"
                          "      api_key: sk-integration\n"
                          "      model: gpt-4o-mini\n"
                          "      timeout: 5s\n"
                          "  prices:\n"
                          "    gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.60}\n"
                          "  budgets:\n"
                          "    default_daily_usd: 0.0001\n";
  dir.write("c.yaml", dir.read("c.yaml") + llm);
  return dir.file("c.yaml");
}

}  // namespace

TEST_SUITE("integration/llm") {
  TEST_CASE("serve: the model answers what nlu does not, /metrics shows GenAI token usage, the audit log the call") {
    opsgate::test::OpenAiStandIn server("sk-integration");
    server.answer({200, opsgate::test::tool_calls_body({{"rollout_status", R"({"target":"checkout","env":"prod"})"}}), {}, {}});
    TempDir dir;
    const std::string config = prepare_config(dir, server.base());
    const auto check = run_command(std::string(OPSGATE_BINARY) + " config check --config " + config + " 2>&1");
    INFO(check.out);
    REQUIRE(check.exit_code == 0);
    CHECK(check.out.find("llm: connection standin (openai, " + server.base() + "/v1/chat/completions, model gpt-4o-mini, key config:") != std::string::npos);

    // A message on the terminal adapter, then /metrics polled until the call shows (bounded), then end of input.
    const std::string script =
        "(printf \"any idea what is up with the purple widget?\\n\"; for i in $(seq 100); do [ -f " + dir.file("done") +
        " ] && break; sleep 0.1; done) | " + std::string(OPSGATE_BINARY) + " serve --config " + config + " > " +
        dir.file("out.txt") + " 2>" + dir.file("err.txt") + " & pid=$!; "
        "for i in $(seq 50); do grep -q \"(port \" " + dir.file("err.txt") + " && break; sleep 0.1; done; "
        "port=$(grep -o \"(port [0-9]*\" " + dir.file("err.txt") + " | grep -o \"[0-9]*\"); "
        "for i in $(seq 50); do "
        "exec 3<>/dev/tcp/127.0.0.1/$port; printf \"GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n\" >&3; "
        "timeout 5 cat <&3 > " + dir.file("metrics.txt") + "; exec 3>&-; "
        "grep -q gen_ai_client_token_usage_sum " + dir.file("metrics.txt") + " && break; sleep 0.1; done; "
        "touch " + dir.file("done") + "; wait $pid; echo exit=$?";
    dir.write("run.sh", script);
    const auto out = run_command("bash " + dir.file("run.sh"), 90);
    const std::string metrics = dir.read("metrics.txt");
    INFO(out.out);
    INFO(dir.read("err.txt"));
    CHECK(out.out.find("exit=0") != std::string::npos);
    CHECK(metrics.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(metrics.find("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\","
                       "gen_ai_request_model=\"gpt-4o-mini\",gen_ai_token_type=\"input\",team=\"default\",action=") !=
          std::string::npos);
    CHECK(metrics.find("user=") == std::string::npos);
    CHECK(metrics.find("channel=") == std::string::npos);
    CHECK(metrics.find("action=\"rollout.status\"} 412") != std::string::npos);
    CHECK(metrics.find("opsgate_llm_cost_usd_total{") != std::string::npos);
    REQUIRE(server.seen().size() == 1);
    CHECK(server.last().header("Authorization") == "Bearer sk-integration");

    const auto audit = run_command(std::string(OPSGATE_BINARY) + " audit tail -n 20 --config " + config + " 2>&1");
    INFO(audit.out);
    CHECK(audit.out.find("parser=llm confidence=0.80 llm.connection=standin llm.model=gpt-4o-mini llm.prompt=sha256:") !=
          std::string::npos);
    CHECK(audit.out.find("llm.tokens_in=412 llm.tokens_out=23") != std::string::npos);

    // A restart does not reset the budget: today's spending is read back from
    // the audit log, so the second message of the next run is over budget.
    const auto second = run_command("printf \"any idea what is up with the purple widget?\\nand the green gizmo?\\n\" | " +
                                    std::string(OPSGATE_BINARY) + " shell --user alice --config " + config + " 2>&1");
    INFO(second.out);
    CHECK(server.seen().size() == 2);
    CHECK(second.out.find("Team default has used its language-model budget for today") != std::string::npos);
  }
}
