#include "src/intent/llm_config.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "src/net/outbound_url.hpp"
#include "src/core/crypto.hpp"

namespace opsgate::intent {

namespace {

double money_or(const ConfigNode& node, const std::string& key, double fallback) {
  if (!node.has(key)) {
    return fallback;
  }
  const std::string text = node.str(key);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || v < 0 || v > 1e9) {
    node.fail(key, "expected a non-negative number such as 0.15, got '" + text + "'");
  }
  return v;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

// Prompt-flow's convention: connection `aoai` reads AOAI_API_KEY.
std::string env_name_for(const std::string& connection) {
  std::string out;
  for (unsigned char c : connection) {
    out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  }
  return out + "_API_KEY";
}

LlmConnection parse_connection(const std::string& name, const ConfigNode& node) {
  LlmConnection c;
  c.name = name;
  c.type = node.str_or("type", "openai");
  if (c.type != "openai" && c.type != "azure_openai") {
    node.fail("type", "expected openai or azure_openai (use openai for Ollama, vLLM and llama.cpp's server), got '" +
                          c.type + "'");
  }
  c.api_base = trim_slash(node.str("api_base"));
  if (auto key = node.optional_secret("api_key")) {
    c.api_key = *key;
  } else if (const char* v = std::getenv(env_name_for(name).c_str()); v != nullptr && *v != '\0') {
    c.api_key = Secret(v, "env:" + env_name_for(name));
  }
  // With an API key the endpoint gets a credential; without one (a local Ollama) plain http is fine.
  net::require_outbound_url(node, "api_base", c.api_base, !c.api_key.empty() ? net::UrlSecrecy::sensitive : net::UrlSecrecy::plain);
  c.model = node.str_or("model", "");
  c.deployment = node.str_or("deployment", "");
  c.api_version = node.str_or("api_version", "");
  if (c.type == "azure_openai") {
    if (c.deployment.empty()) {
      node.fail("deployment", "an azure_openai connection needs the deployment name");
    }
    if (c.api_version.empty()) {
      node.fail("api_version", "an azure_openai connection needs api_version, e.g. 2024-10-21");
    }
  } else if (c.model.empty()) {
    node.fail("model", "an openai connection needs the model name, e.g. gpt-4o-mini or qwen2.5:7b");
  }
  c.provider = node.str_or("provider", c.type == "azure_openai" ? "azure.ai.openai" : "openai");
  c.timeout = node.duration_or("timeout", std::chrono::seconds(15));
  c.connect_timeout = node.duration_or("connect_timeout", std::chrono::seconds(3));
  if (c.timeout.count() <= 0 || c.connect_timeout.count() <= 0) {
    node.fail("timeout", "timeouts must be at least 1s");
  }
  c.max_retries = static_cast<int>(node.integer_or("max_retries", 1, 0, 5));
  c.tool_choice = node.str_or("tool_choice", "required");
  if (c.tool_choice != "required" && c.tool_choice != "auto") {
    node.fail("tool_choice", "expected required or auto");
  }
  c.max_tokens = static_cast<int>(node.integer_or("max_tokens", 400, 16, 8192));
  c.verify_tls = node.boolean_or("verify_tls", true);
  c.ca_file = node.str_or("ca_file", "");
  node.finish();
  return c;
}

}  // namespace

std::string LlmConnection::url() const {
  if (type == "azure_openai") {
    return api_base + "/openai/deployments/" + deployment + "/chat/completions?api-version=" + api_version;
  }
  return api_base + "/chat/completions";
}

std::vector<std::pair<std::string, std::string>> LlmConnection::auth_headers() const {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
  if (api_key.empty()) {
    return headers;
  }
  if (type == "azure_openai") {
    headers.emplace_back("api-key", api_key.reveal());
  } else {
    headers.emplace_back("Authorization", "Bearer " + api_key.reveal());
  }
  return headers;
}

LlmPrompt load_prompt(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("cannot read the prompt file " + path + " (paths are relative to the directory opsgate runs in)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  LlmPrompt p{path, text.str(), {}};
  if (p.text.empty()) {
    throw ConfigError("the prompt file " + path + " is empty");
  }
  p.version = "sha256:" + crypto::sha256_hex(p.text).substr(0, 12);
  return p;
}

LlmConfig parse_llm_config(const ConfigNode& node) {
  LlmConfig config;
  const ConfigNode connections = node.child("connections");
  for (const auto& [name, one] : connections.entries()) {
    if (!one.is_map()) {
      connections.fail(name, "expected a mapping with type, api_base, model, ...");
    }
    config.connections.emplace(name, parse_connection(name, one));
  }
  if (config.connections.empty()) {
    connections.fail_here("declare at least one connection");
  }
  config.connection = node.str_or("connection", config.connections.begin()->first);
  if (config.connections.count(config.connection) == 0) {
    node.fail("connection", "no connection named '" + config.connection + "' under connections");
  }
  const std::string prompt_path = node.str_or("prompt", "config/prompts/intent.md");
  try {
    config.prompt = load_prompt(prompt_path);
  } catch (const ConfigError& e) {
    node.fail("prompt", e.what());
  }
  config.context_turns = static_cast<std::size_t>(node.integer_or("context_turns", 4, 0, 10));
  config.unaddressed = node.boolean_or("unaddressed", false);
  if (auto prices = node.optional_child("prices")) {
    for (const auto& [model, one] : prices->entries()) {
      LlmPrice price;
      price.input_per_million = money_or(one, "input_per_million", 0.0);
      price.output_per_million = money_or(one, "output_per_million", 0.0);
      one.finish();
      config.prices[model] = price;
    }
  }
  if (auto budgets = node.optional_child("budgets")) {
    if (budgets->has("default_daily_usd")) {
      config.default_daily_usd = money_or(*budgets, "default_daily_usd", 0.0);
    }
    if (auto teams = budgets->optional_child("teams")) {
      for (const auto& [name, one] : teams->entries()) {
        LlmTeam team;
        team.name = name;
        team.members = one.strings_or("members");
        if (one.has("daily_usd")) {
          team.daily_usd = money_or(one, "daily_usd", 0.0);
        }
        one.finish();
        config.teams.push_back(std::move(team));
      }
    }
    budgets->finish();
  }
  node.finish();
  return config;
}

}  // namespace opsgate::intent
