#include <doctest/doctest.h>

#include <cstdlib>

#include "src/intent/llm_config.hpp"

using namespace opsgate;

namespace {

std::string prompt() { return std::string(OPSGATE_SOURCE_DIR) + "/config/prompts/intent.md"; }

intent::LlmConfig parse(const std::string& yaml) {
  return intent::parse_llm_config(ConfigNode::parse("prompt: " + prompt() + "\n" + yaml, "llm.yaml"));
}

std::string error_of(const std::string& yaml) {
  try {
    (void)parse(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("intent/llm config") {
  TEST_CASE("connections: URL and auth per type, key from <NAME>_API_KEY by default, prices and budgets") {
    ::setenv("AOAI_API_KEY", "from-env", 1);
    const auto c = parse(
        "connection: aoai\n"
        "connections:\n"
        "  openai: {type: openai, api_base: 'https://api.openai.com/v1/', model: gpt-4o-mini, api_key: sk-1}\n"
        "  aoai: {type: azure_openai, api_base: 'https://x.openai.azure.com', deployment: dep, api_version: 2024-10-21}\n"
        "  ollama: {api_base: 'http://127.0.0.1:11434/v1', model: 'qwen2.5:7b', provider: ollama, tool_choice: auto, timeout: 30s}\n"
        "prices:\n  gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.6}\n"
        "budgets:\n  default_daily_usd: 1.5\n  teams:\n    shop: {members: [shell:alice], daily_usd: 5}\n    web: {members: [shell:dan]}\n");
    ::unsetenv("AOAI_API_KEY");
    CHECK(c.connection == "aoai");
    const auto& openai = c.connections.at("openai");
    CHECK(openai.url() == "https://api.openai.com/v1/chat/completions");
    CHECK(openai.auth_headers().back() == std::pair<std::string, std::string>{"Authorization", "Bearer sk-1"});
    const auto& azure = c.active();
    CHECK(azure.url() == "https://x.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21");
    CHECK(azure.auth_headers().back() == std::pair<std::string, std::string>{"api-key", "from-env"});
    CHECK(azure.api_key.source() == "env:AOAI_API_KEY");
    CHECK(azure.provider == "azure.ai.openai");
    CHECK(azure.model_name() == "dep");
    const auto& ollama = c.connections.at("ollama");
    CHECK(ollama.auth_headers().size() == 1);  // no key, no auth header
    CHECK(ollama.timeout == std::chrono::seconds(30));
    CHECK(ollama.tool_choice == "auto");
    CHECK(c.prices.at("gpt-4o-mini").output_per_million == doctest::Approx(0.6));
    CHECK(*c.default_daily_usd == doctest::Approx(1.5));
    REQUIRE(c.teams.size() == 2);
    CHECK(*c.teams[0].daily_usd == 5.0);
    CHECK_FALSE(c.teams[1].daily_usd);
    CHECK(c.prompt.version.rfind("sha256:", 0) == 0);
    CHECK(c.context_turns == 4);
  }

  TEST_CASE("llm: mistakes name the file, line and key") {
    CHECK(error_of("connections:\n  a: {type: azure_openai, api_base: 'https://x', deployment: d}\n")
              .find("llm.yaml:3: connections.a.api_version: an azure_openai connection needs api_version") == 0);
    CHECK(error_of("connections:\n  a: {type: bedrock, api_base: 'https://x', model: m}\n").find("connections.a.type: expected openai or azure_openai") != std::string::npos);
    CHECK(error_of("connections:\n  a: {api_base: 'ftp://x', model: m}\n").find("api_base: unsupported scheme 'ftp': expected https://") != std::string::npos);
    CHECK(error_of("connection: b\nconnections:\n  a: {api_base: 'https://x', model: m}\n").find("connection: no connection named 'b'") != std::string::npos);
    CHECK(error_of("connections:\n  a: {api_base: 'https://x', model: m, tempreature: 0}\n").find("tempreature: unknown key") != std::string::npos);
    CHECK(error_of("connections:\n  a: {api_base: 'https://x', model: m}\nprices:\n  m: {input_per_million: cheap}\n").find("input_per_million: expected a non-negative number") != std::string::npos);
    std::string missing_prompt;
    try {
      (void)intent::parse_llm_config(
          ConfigNode::parse("prompt: /nonexistent/p.md\nconnections:\n  a: {api_base: 'https://x', model: m}\n", "llm.yaml"));
    } catch (const ConfigError& e) {
      missing_prompt = e.what();
    }
    CHECK(missing_prompt.find("prompt: cannot read the prompt file /nonexistent/p.md") != std::string::npos);
  }
}
