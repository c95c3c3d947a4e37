#pragma once
// A stand-in OpenAI-compatible chat-completions server for the llm parser's
// tests: net::HttpServer on 127.0.0.1:0 with its own two threads. It answers
// POSTs on the OpenAI path (/v1/chat/completions) and on an Azure deployment
// path with scripted replies, in order (the last one repeats), and records
// every request (path, query, headers, parsed JSON body).

#include <chrono>
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

  OpenAiStandIn() : state_(std::make_shared<State>()), server_(config()) {
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
    mutable std::mutex mutex;
    std::vector<OpenAiReply> replies;
    std::size_t next = 0;
    std::vector<OpenAiSeen> seen;
  };

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, net::HttpRequest request) {
    OpenAiReply reply{500, R"({"error":{"message":"no scripted reply","type":"server_error"}})", {}, {}};
    {
      std::lock_guard lock(state->mutex);
      state->seen.push_back(
          OpenAiSeen{request.path, request.query, request.headers, nlohmann::json::parse(request.body, nullptr, false)});
      if (!state->replies.empty()) {
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
