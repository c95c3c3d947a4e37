#pragma once
// A stand-in OpenAI-compatible chat-completions server for the llm parser's
// tests: net::HttpServer on 127.0.0.1:0 with its own two threads. It answers
// POSTs on the OpenAI path (/v1/chat/completions) and on an Azure deployment
// path with scripted replies, in order (the last one repeats), and records
// every request (path, query, headers, parsed JSON body). Like the real
// servers (../shared/specs/openai.md) it first checks the request: the key in
// the header each path takes (401), the model (404), a JSON body with
// messages and tools in the documented shape, and api-version on Azure (400,
// 404), with their error bodies: a wrong request never gets a scripted answer.

#include <algorithm>
#include <chrono>
#include <optional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/net/http_server.hpp"
#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

struct OpenAiReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Retry-After
  std::chrono::milliseconds delay{0};
};

struct OpenAiSeen {
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  nlohmann::json body;  // discarded when not JSON

  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (net::iequals_ascii(n, name)) {
        return v;
      }
    }
    return "";
  }
  bool has_header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (net::iequals_ascii(n, name)) {
        return true;
      }
    }
    return false;
  }
};

// A chat.completion body with the given tool calls ({name, arguments-string}).
inline std::string tool_calls_body(const std::vector<std::pair<std::string, std::string>>& calls,
                                   std::string finish_reason = "tool_calls", int prompt_tokens = 412,
                                   int completion_tokens = 23) {
  nlohmann::json tool_calls = nlohmann::json::array();
  int i = 0;
  for (const auto& [name, arguments] : calls) {
    tool_calls.push_back({{"id", "call_" + std::to_string(i++)},
                          {"type", "function"},
                          {"function", {{"name", name}, {"arguments", arguments}}}});
  }
  nlohmann::json body{
      {"id", "chatcmpl-test"},
      {"object", "chat.completion"},
      {"model", "gpt-4o-mini-2024-07-18"},
      {"choices",
       nlohmann::json::array({{{"index", 0},
                               {"finish_reason", finish_reason},
                               {"message", {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", tool_calls}}}}})},
      {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens},
                 {"total_tokens", prompt_tokens + completion_tokens}}}};
  return body.dump();
}

// An answer in prose (finish_reason stop or length), no tool call.
inline std::string prose_body(const std::string& content, const std::string& finish_reason = "stop") {
  nlohmann::json body{
      {"id", "chatcmpl-test"},
      {"object", "chat.completion"},
      {"model", "gpt-4o-mini-2024-07-18"},
      {"choices", nlohmann::json::array({{{"index", 0},
                                          {"finish_reason", finish_reason},
                                          {"message", {{"role", "assistant"}, {"content", content}}}}})},
      {"usage", {{"prompt_tokens", 400}, {"completion_tokens", 12}, {"total_tokens", 412}}}};
  return body.dump();
}

// Owned by one test; script()/seen() from the test's thread, handlers on the
// stand-in's threads (hence the mutex).
class OpenAiStandIn {
 public:
  static constexpr const char* kOpenAiPath = "/v1/chat/completions";
  static constexpr const char* kAzurePath = "/openai/deployments/intent-dep/chat/completions";

  // `api_key`: what opsgate must send (Bearer on the OpenAI path, api-key on
  // Azure's); `model`: the one model the OpenAI path serves (Azure's is the
  // deployment in the path).
  explicit OpenAiStandIn(std::string api_key, std::string model = "gpt-4o-mini")
      : state_(std::make_shared<State>(std::move(api_key), std::move(model))), server_(config()) {
    for (const char* path : {kOpenAiPath, kAzurePath}) {
      auto state = state_;
      server_.route("POST", path, [state](net::HttpRequest request) { return handle(state, std::move(request)); });
    }
    server_.start();
  }

  OpenAiStandIn(const OpenAiStandIn&) = delete;
  OpenAiStandIn& operator=(const OpenAiStandIn&) = delete;

  // Replies in order; the last one answers every later request.
  void script(std::vector<OpenAiReply> replies) {
    std::lock_guard lock(state_->mutex);
    state_->replies = std::move(replies);
    state_->next = 0;
  }
  void answer(OpenAiReply reply) { script({std::move(reply)}); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()); }

  std::vector<OpenAiSeen> seen() const {
    std::lock_guard lock(state_->mutex);
    return state_->seen;
  }
  OpenAiSeen last() const {
    std::lock_guard lock(state_->mutex);
    if (state_->seen.empty()) {
      throw std::runtime_error("the stand-in OpenAI server saw no request");
    }
    return state_->seen.back();
  }

 private:
  struct State {
    State(std::string key, std::string served_model) : api_key(std::move(key)), model(std::move(served_model)) {}
    const std::string api_key;
    const std::string model;
    mutable std::mutex mutex;
    std::vector<OpenAiReply> replies;
    std::size_t next = 0;
    std::vector<OpenAiSeen> seen;
  };

  static OpenAiReply error_reply(int status, const std::string& message, const std::string& type,
                                 const nlohmann::json& code) {
    const nlohmann::json body{{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
    return OpenAiReply{status, body.dump(), {}, {}};
  }

  // What the real server refuses before it looks at the prompt; nullopt when it would serve the request.
  static std::optional<OpenAiReply> refusal(const State& state, const net::HttpRequest& request, const nlohmann::json& body) {
    const bool azure = request.path == kAzurePath;
    if (azure) {
      if (request.header_or_empty("api-key") != state.api_key) {
        return error_reply(401, "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                                "provide a valid key for an active subscription and use a correct regional API endpoint "
                                "for your resource.", "", "401");
      }
      if (request.query.find("api-version=") == std::string::npos) {
        return error_reply(404, "Resource not found", "", "404");
      }
    } else if (request.header_or_empty("Authorization") != "Bearer " + state.api_key) {
      return error_reply(401, "Incorrect API key provided. You can find your API key at "
                              "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key");
    }
    const auto invalid = [](const std::string& message) {
      return error_reply(400, message, "invalid_request_error", nullptr);
    };
    if (request.header_or_empty("Content-Type").rfind("application/json", 0) != 0 || !body.is_object()) {
      return invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
                     "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
                     "valid JSON.)");
    }
    if (!azure && (!body.contains("model") || !body["model"].is_string())) {
      return invalid("you must provide a model parameter");
    }
    if (!azure && body["model"] != state.model) {
      return error_reply(404, "The model `" + body["model"].get<std::string>() + "` does not exist or you do not have access to it.",
                         "invalid_request_error", "model_not_found");
    }
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return invalid("Missing required parameter: 'messages'.");
    }
    for (std::size_t i = 0; i < body["messages"].size(); ++i) {
      const auto& m = body["messages"][i];
      const std::string at = "messages[" + std::to_string(i) + "]";
      static const std::vector<std::string> kRoles{"system", "developer", "user", "assistant", "tool"};
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() ||
          std::find(kRoles.begin(), kRoles.end(), m["role"].get<std::string>()) == kRoles.end()) {
        return invalid("Invalid value for '" + at + ".role'.");
      }
      if (!m.contains("content") || !(m["content"].is_string() || (m["role"] == "assistant" && m["content"].is_null()))) {
        return invalid("Invalid type for '" + at + ".content': expected a string.");
      }
    }
    if (body.contains("temperature") && (!body["temperature"].is_number() || body["temperature"] < 0 || body["temperature"] > 2)) {
      return invalid("Invalid 'temperature': expected a number between 0 and 2.");
    }
    if (body.contains("tools")) {
      if (!body["tools"].is_array()) {
        return invalid("Invalid type for 'tools': expected an array.");
      }
      for (std::size_t i = 0; i < body["tools"].size(); ++i) {
        const auto& t = body["tools"][i];
        const std::string at = "tools[" + std::to_string(i) + "]";
        if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object() ||
            !t["function"].contains("name") || !t["function"]["name"].is_string()) {
          return invalid("Missing required parameter: '" + at + ".function'.");
        }
        if (t["function"].contains("parameters") && !t["function"]["parameters"].is_object()) {
          return invalid("Invalid type for '" + at + ".function.parameters': expected an object.");
        }
      }
    }
    if (body.contains("tool_choice")) {
      const auto& c = body["tool_choice"];
      const bool word = c.is_string() && (c == "auto" || c == "required" || c == "none");
      const bool named = c.is_object() && c.value("type", "") == "function" && c.contains("function");
      if (!word && !named) {
        return invalid("Invalid value for 'tool_choice'.");
      }
      if (!body.contains("tools") && c != "none") {
        return invalid("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.");
      }
    }
    return std::nullopt;
  }

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, net::HttpRequest request) {
    OpenAiReply reply{500, R"({"error":{"message":"no scripted reply","type":"server_error"}})", {}, {}};
    {
      const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
      auto refused = refusal(*state, request, body);
      std::lock_guard lock(state->mutex);
      state->seen.push_back(OpenAiSeen{request.path, request.query, request.headers, body});
      if (refused) {
        reply = std::move(*refused);
      } else if (!state->replies.empty()) {
        reply = state->replies[std::min(state->next, state->replies.size() - 1)];
        ++state->next;
      }
    }
    if (reply.delay.count() > 0) {
      auto executor = co_await boost::asio::this_coro::executor;
      boost::asio::steady_timer timer(executor, reply.delay);
      auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
      auto waited = co_await timer.async_wait(token);
      (void)waited;
    }
    net::HttpResponse response;
    response.status = reply.status;
    response.content_type = "application/json";
    response.body = reply.body;
    response.headers = reply.headers;
    co_return response;
  }

  static net::HttpServerConfig config() {
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = std::chrono::seconds(1);
    return c;
  }

  std::shared_ptr<State> state_;
  LoopbackHttpServer server_;
};

}  // namespace opsgate::test
