#pragma once
// The `llm:` config section, validated once into an immutable value:
// connections as prompt-flow users know them (openai, azure_openai, and any
// OpenAI-compatible server through `openai`), the prompt file with its
// content-hash version, the price table and the daily budgets per team.

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/core/config_node.hpp"
#include "src/core/secret.hpp"

namespace opsgate::intent {

struct LlmConnection {
  std::string name;
  std::string type = "openai";   // openai | azure_openai
  std::string provider;          // OTel gen_ai.provider.name: openai, azure.ai.openai, ollama, ...
  std::string api_base;          // without a trailing slash
  Secret api_key;                // may be empty (Ollama, vLLM without --api-key)
  std::string model;             // openai: the model; azure_openai: informational (the deployment decides)
  std::string deployment;        // azure_openai
  std::string api_version;       // azure_openai
  std::chrono::milliseconds timeout{15000};  // the whole parse, retries included
  std::chrono::milliseconds connect_timeout{3000};
  int max_retries = 1;                // for 429 and 5xx, within the timeout
  std::string tool_choice = "required";  // required | auto (Ollama ignores it; some servers accept only auto)
  int max_tokens = 400;               // of the answer
  bool verify_tls = true;
  std::string ca_file;

  // The chat completions URL and the auth headers of this connection type.
  std::string url() const;
  std::vector<std::pair<std::string, std::string>> auth_headers() const;
  // What metrics and the audit log call the model: the model, or the deployment.
  std::string model_name() const { return model.empty() ? deployment : model; }
};

struct LlmPrompt {
  std::string path;
  std::string text;
  std::string version;  // "sha256:" + the first 12 hex digits of SHA-256(text)
};

struct LlmPrice {
  double input_per_million = 0.0;   // USD per 1M input tokens
  double output_per_million = 0.0;
};

struct LlmTeam {
  std::string name;
  std::vector<std::string> members;  // principal ids ("slack:T1:U2") or their platform groups
  std::optional<double> daily_usd;   // unset: no cap
};

struct LlmConfig {
  std::map<std::string, LlmConnection> connections;
  std::string connection;  // the one the llm parser uses
  LlmPrompt prompt;
  std::map<std::string, LlmPrice> prices;  // by model name (model_name())
  std::vector<LlmTeam> teams;
  std::optional<double> default_daily_usd;  // for principals in no listed team (team "default")
  std::size_t context_turns = 4;           // recent turns of the thread sent as context (0-10)
  bool unaddressed = false;                // also ask the LLM about chat not addressed to opsgate

  const LlmConnection& active() const { return connections.at(connection); }
};

// Throws ConfigError naming file:line: key. Reads the prompt file.
LlmConfig parse_llm_config(const ConfigNode& node);

// Reads a prompt file and versions it; throws ConfigError when unreadable.
LlmPrompt load_prompt(const std::string& path);

}  // namespace opsgate::intent
