#include "src/intent/llm_parser.hpp"

#include <algorithm>
#include <chrono>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "src/core/action_catalogue.hpp"
#include "src/core/approval_workflow.hpp"
#include "src/core/text.hpp"

namespace opsgate::intent {

namespace {

using nlohmann::json;
namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

constexpr std::size_t kMaxQuestionBytes = 300;
constexpr std::size_t kMaxOptions = 6;
constexpr std::size_t kMaxOptionBytes = 80;
constexpr std::size_t kMaxResponseBytes = 1024 * 1024;
// The ceiling of the first pause before a 5xx is sent again (net::Backoff doubles it).
constexpr std::chrono::milliseconds kRetryBase{250};

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Text a model wrote, shown to a person: no control characters, bounded.
std::string clean_text(const std::string& text, std::size_t limit) {
  std::string out(text::utf8_prefix(text, limit));
  for (char& c : out) {
    c = (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  return out;
}

json nullable(json schema) {
  schema["type"] = json::array({schema["type"], "null"});
  if (schema.contains("enum")) {
    schema["enum"].push_back(nullptr);
  }
  return schema;
}

json param_schema(const ParamSpec& p, const Inventory& inventory) {
  switch (p.type) {
    case ParamType::target:
      return {{"type", "string"}, {"enum", inventory.target_names()}, {"description", "the service"}};
    case ParamType::env:
      return {{"type", "string"},
              {"enum", inventory.env_names()},
              {"description", "the environment; null when the user did not say"}};
    case ParamType::metric:
      return {{"type", "string"}, {"enum", kMetrics}};
    case ParamType::level:
      return {{"type", "string"}, {"enum", kLevels}};
    case ParamType::duration:
      return {{"type", "integer"}, {"description", "time range in seconds, e.g. 1800 for the last 30 minutes"}};
    case ParamType::integer:
      return {{"type", "integer"},
              {"description", "a whole number from " + std::to_string(p.min) + " to " + std::to_string(p.max)}};
    case ParamType::version:
      return {{"type", "string"}, {"description", "an image tag such as v2.4.1"}};
    case ParamType::text:
      return {{"type", "string"}};
    case ParamType::id:
      return {{"type", "string"}, {"description", "an approval id"}};
  }
  return {{"type", "string"}};
}

json function_tool(const std::string& name, const std::string& description, json properties, json required) {
  return {{"type", "function"},
          {"function",
           {{"name", name},
            {"description", description},
            {"strict", true},
            {"parameters",
             {{"type", "object"},
              {"properties", std::move(properties)},
              {"required", std::move(required)},
              {"additionalProperties", false}}}}}};
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) {
    out += (out.empty() ? "" : sep) + i;
  }
  return out;
}

void replace_all(std::string& text, const std::string& key, const std::string& value) {
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size())) {
    text.replace(at, key.size(), value);
  }
}

std::int64_t token_count(const json& usage, const char* key) {
  if (!usage.is_object() || !usage.contains(key) || !usage[key].is_number_integer()) {
    return -1;
  }
  return usage[key].get<std::int64_t>();
}

ParseResult rejected_question(std::string question, std::vector<std::string> options = {}) {
  ParseResult r = ParseResult::clarify("llm", std::move(question), std::move(options));
  r.confidence = kLlmConfidence;
  return r;
}

}  // namespace

std::string tool_name(std::string_view action) {
  std::string out(action);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

json build_tools(const Inventory& inventory) {
  json tools = json::array();
  for (const auto& spec : action_catalogue()) {
    // A vote or a cancellation is a person's exact command, never a model's
    // reading of a message: the model is not offered them.
    if (is_vote_action(spec.name)) {
      continue;
    }
    json properties = json::object();
    json required = json::array();
    for (const auto& p : spec.params) {
      json schema = param_schema(p, inventory);
      // Strict mode: every property is required; what may be left out is a
      // union with null. A write's env is always nullable so an unstated one
      // comes back as null (and becomes a question), never as a guess.
      if (!p.required || p.type == ParamType::env) {
        schema = nullable(std::move(schema));
      }
      properties[p.name] = std::move(schema);
      required.push_back(p.name);
    }
    std::string description = spec.summary + " (" + std::string(to_string(spec.kind)) + "). Usage: " + spec.usage;
    tools.push_back(function_tool(tool_name(spec.name), description, std::move(properties), std::move(required)));
  }
  tools.push_back(function_tool(
      "clarify", "Ask the user one short question when the request is ambiguous or a required value is missing",
      {{"question", {{"type", "string"}}}, {"options", {{"type", "array"}, {"items", {{"type", "string"}}}}}},
      json::array({"question", "options"})));
  tools.push_back(function_tool("none", "The message is not a request to opsgate (chat, thanks, a question to people)",
                                json::object(), json::array()));
  return tools;
}

LlmParser::LlmParser(LlmConnection connection, LlmPrompt prompt, std::map<std::string, LlmPrice> prices,
                     std::size_t context_turns, std::shared_ptr<const Inventory> inventory, net::HttpClient& http)
    : connection_(std::move(connection)),
      prompt_(std::move(prompt)),
      prices_(std::move(prices)),
      context_turns_(context_turns),
      inventory_(std::move(inventory)),
      http_(http),
      tools_(build_tools(*inventory_)) {}

std::string LlmParser::system_prompt() const {
  std::string text = prompt_.text;
  std::vector<std::string> targets;
  for (const auto& t : inventory_->targets()) {
    targets.push_back(t.aliases.empty() ? t.name : t.name + " (also: " + join(t.aliases, ", ") + ")");
  }
  std::vector<std::string> envs;
  for (const auto& e : inventory_->environments()) {
    envs.push_back(e.synonyms.empty() ? e.name : e.name + " (also: " + join(e.synonyms, ", ") + ")");
  }
  replace_all(text, "{targets}", join(targets, "; "));
  replace_all(text, "{environments}", join(envs, "; "));
  replace_all(text, "{default_env}", inventory_->default_env());
  return text;
}

json LlmParser::request_body(const ParseInput& input) const {
  // The chat text and the thread's earlier turns are one JSON value: data to
  // classify, which the system prompt says never to follow.
  json data{{"message", input.text}};
  const std::size_t first = input.recent.size() > context_turns_ ? input.recent.size() - context_turns_ : 0;
  if (first < input.recent.size()) {
    json turns = json::array();
    for (std::size_t i = first; i < input.recent.size(); ++i) {
      turns.push_back({{"user", input.recent[i].user_text}, {"understood", input.recent[i].understood}});
    }
    data["earlier_in_thread"] = std::move(turns);
  }
  json body{{"model", connection_.model_name()},
            {"temperature", 0},
            {"max_tokens", connection_.max_tokens},
            {"messages",
             json::array({{{"role", "system"}, {"content", system_prompt()}}, {{"role", "user"}, {"content", dump(data)}}})},
            {"tools", tools_}};
  if (connection_.tool_choice == "required") {
    body["tool_choice"] = "required";
    body["parallel_tool_calls"] = false;
  }
  return body;
}

ParseResult LlmParser::parse(std::string_view) const {
  ParseResult r = ParseResult::none("llm");
  r.degraded = "llm_needs_async";
  return r;
}

asio::awaitable<ParseResult> LlmParser::parse_async(ParseInput input) const {
  const auto start = std::chrono::steady_clock::now();
  LlmCall call;
  call.connection = connection_.name;
  call.provider = connection_.provider;
  call.model = connection_.model_name();
  call.prompt_version = prompt_.version;

  ParseResult result = ParseResult::none("llm");
  std::string error;
  std::string rejected;
  net::HttpClientRequest request;
  request.method = "POST";
  request.url = connection_.url();
  request.headers = connection_.auth_headers();
  request.body = dump(request_body(input));
  request.timeout = connection_.timeout;
  request.connect_timeout = std::min(connection_.timeout, connection_.connect_timeout);
  request.max_response_bytes = kMaxResponseBytes;
  request.verify_tls = connection_.verify_tls;
  request.ca_file = connection_.ca_file;
  // 429 and 5xx mean "not processed": the HttpClient sends again, up to
  // max_retries, after the server's Retry-After (one past the deadline is the
  // answer) or a net::Backoff pause. The deadline below bounds them all.
  request.max_retries = connection_.max_retries;
  request.retry_status = [](int status) { return status >= 500; };
  request.retry_base = kRetryBase;
  request.retry_cap = connection_.timeout;
  request.max_retry_after = connection_.timeout;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer deadline(executor, start + connection_.timeout);
  auto outcome = co_await (http_.send(std::move(request)) || deadline.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) {
    error = "timeout";
    spdlog::warn("llm {}: no usable answer within the {} ms deadline", connection_.name, connection_.timeout.count());
  } else if (auto& response = std::get<0>(outcome); !response) {
    error = response.error().code == Errc::timeout ? "timeout" : "unavailable";
    spdlog::warn("llm {}: {}", connection_.name, response.error().message);
  } else if (const int status = response->status; status == 429 || status >= 500) {
    error = "http_" + std::to_string(status);
    spdlog::warn("llm {}: HTTP {}{}; retried at most {} time(s) within the {} ms deadline", connection_.name, status,
                 status == 429 ? " (rate limited)" : "", connection_.max_retries, connection_.timeout.count());
  } else if (status != 200) {
    // 400 (schema, context length), 401, 403, 404: a configuration problem; never retried.
    error = "http_" + std::to_string(status);
    const json j = json::parse(response->body, nullptr, false);
    std::string message;
    if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_object()) {
      message = j["error"].value("message", std::string{});
    }
    spdlog::error("llm {}: HTTP {} from {}: {}", connection_.name, status, connection_.url().substr(0, 200),
                  clean_text(message, 300));
  } else {
    Completion completion = interpret_completion(response->body, *inventory_);
    call.tokens_in = completion.tokens_in;
    call.tokens_out = completion.tokens_out;
    call.response_model = completion.response_model;
    error = completion.error;
    rejected = completion.rejected;
    result = std::move(completion.result);
  }
  call.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto price = prices_.find(call.model);
  if (price != prices_.end()) {
    call.cost_usd = static_cast<double>(std::max<std::int64_t>(call.tokens_in, 0)) * price->second.input_per_million / 1e6 +
                    static_cast<double>(std::max<std::int64_t>(call.tokens_out, 0)) * price->second.output_per_million / 1e6;
  }
  if (!error.empty()) {
    result = ParseResult::none("llm");
    result.degraded = error;
    call.error = error;
  } else if (!rejected.empty()) {
    call.error = "rejected_" + rejected;
  }
  result.parser = "llm";
  result.llm = call;
  co_return result;
}

Completion interpret_completion(std::string_view body, const Inventory& inventory) {
  Completion out;
  out.result = ParseResult::none("llm");
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.error = "malformed_json";
    return out;
  }
  if (j.contains("usage")) {
    out.tokens_in = token_count(j["usage"], "prompt_tokens");
    out.tokens_out = token_count(j["usage"], "completion_tokens");
  }
  if (j.contains("model") && j["model"].is_string()) {
    out.response_model = clean_text(j["model"].get<std::string>(), 100);
  }
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() || !j["choices"][0].is_object()) {
    out.error = "malformed_json";
    return out;
  }
  const json& choice = j["choices"][0];
  const std::string finish = choice.contains("finish_reason") && choice["finish_reason"].is_string()
                                 ? choice["finish_reason"].get<std::string>()
                                 : std::string{};
  if (finish == "length") {
    out.error = "truncated";  // never act on a cut answer
    return out;
  }
  if (finish == "content_filter") {
    out.error = "content_filter";
    return out;
  }
  const json message = choice.contains("message") && choice["message"].is_object() ? choice["message"] : json::object();
  const json calls = message.contains("tool_calls") && message["tool_calls"].is_array() ? message["tool_calls"]
                                                                                          : json::array();
  if (calls.empty()) {
    out.error = "no_tool_call";  // prose: nothing to validate
    return out;
  }

  struct Call {
    std::string tool;
    json arguments;
  };
  std::vector<Call> parsed;
  int writes = 0;
  std::vector<std::string> described;
  for (const auto& c : calls) {
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
        !c["function"].contains("name") || !c["function"]["name"].is_string()) {
      out.error = "malformed_json";
      return out;
    }
    const std::string tool = c["function"]["name"].get<std::string>();
    const json& raw = c["function"].contains("arguments") ? c["function"]["arguments"] : json();
    // `arguments` is a JSON string that must itself be parsed; some servers send an object.
    json arguments = raw.is_string() ? json::parse(raw.get<std::string>(), nullptr, false)
                     : raw.is_null() ? json::object()
                                     : raw;
    if (arguments.is_discarded() || !arguments.is_object()) {
      out.rejected = "invalid_arguments";
      out.result = rejected_question("I could not read that request reliably. Could you rephrase it, or use a "
                                     "command such as `!help`?");
      return out;
    }
    std::string action = tool;
    for (const auto& spec : action_catalogue()) {
      if (tool_name(spec.name) == tool) {
        action = spec.name;
        if (spec.kind == ActionKind::write) {
          ++writes;
        }
      }
    }
    if (tool != "clarify" && tool != "none" && (find_action(action) == nullptr || is_vote_action(action))) {
      out.rejected = "unknown_tool";
      out.result = rejected_question("I cannot do '" + clean_text(tool, 64) + "'. `help` lists what I can do.");
      return out;
    }
    ActionRequest shown{action, arguments};
    described.push_back(tool == "clarify" || tool == "none" ? tool : describe(shown));
    parsed.push_back({action, std::move(arguments)});
  }
  if (writes > 1) {
    out.rejected = "two_writes";
    out.result = rejected_question("I change one thing at a time. Which one first: " + clean_text(join(described, " or "), 250) + "?",
                                   described);
    return out;
  }
  // Several read calls: the first one is the answer, the rest is noise.
  const Call& call = parsed.front();
  if (call.tool == "none") {
    return out;
  }
  if (call.tool == "clarify") {
    const std::string question =
        call.arguments.contains("question") && call.arguments["question"].is_string()
            ? clean_text(call.arguments["question"].get<std::string>(), kMaxQuestionBytes)
            : std::string{};
    std::vector<std::string> options;
    if (call.arguments.contains("options") && call.arguments["options"].is_array()) {
      for (const auto& o : call.arguments["options"]) {
        if (o.is_string() && options.size() < kMaxOptions) {
          options.push_back(clean_text(o.get<std::string>(), kMaxOptionBytes));
        }
      }
    }
    out.result = rejected_question(question.empty() ? "Could you say that again with the service and environment?"
                                                    : question,
                                   std::move(options));
    return out;
  }
  // Nulls mean "not stated"; everything else is validated like any parser's output.
  json params = json::object();
  for (const auto& [key, value] : call.arguments.items()) {
    if (!value.is_null()) {
      params[key] = value;
    }
  }
  auto validated = validate_request(ActionRequest{call.tool, params}, inventory);
  if (!validated) {
    out.rejected = "invalid_request";
    out.result = rejected_question(validated.error().question, validated.error().options);
    out.result.request = ActionRequest{call.tool, json::object()};
    return out;
  }
  out.result.kind = ParseKind::request;
  out.result.request = std::move(*validated);
  out.result.confidence = kLlmConfidence;
  out.result.parser = "llm";
  return out;
}

}  // namespace opsgate::intent
