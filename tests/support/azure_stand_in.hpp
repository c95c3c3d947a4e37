#pragma once
// A stand-in Azure DevOps for the "Invoke REST API" check in callback mode
// (specs/cicd-gates.md §2.7): POST /{project}/_apis/distributedtask/hubs/{hub}/plans/{plan}/events
// accepts `Bearer <job token>` or Basic with the token as password, else 302
// to a sign-in page (as Azure does); requires name TaskCompleted, the taskId
// and jobId of the check call and a result of succeeded/failed; answers 200
// with an empty body, and 400 to a second completion. Also: the check call
// as Azure sends it.

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

struct AzureEvent {
  std::string path;
  std::string query;
  nlohmann::json body;
  int status = 0;
};

class AzureStandIn {
 public:
  static constexpr const char* kProject = "6c2e3f0a-2b1c-4f7e-9a55-0d1e2f3a4b5c";

  AzureStandIn(std::string token, std::string task, std::string job)
      : state_(std::make_shared<State>()), server_(config()) {
    state_->token = std::move(token);
    state_->task = std::move(task);
    state_->job = std::move(job);
    auto state = state_;
    server_.route("POST", std::string("/") + kProject + "/_apis/*",
                  [state](net::HttpRequest r) { return events(state, std::move(r)); });
    server_.start();
  }
  // System.CollectionUri: ends in '/'.
  std::string plan_url() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()) + "/"; }
  std::vector<AzureEvent> received() const {
    std::lock_guard lock(state_->mutex);
    return state_->events;
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::string token;
    std::string task;
    std::string job;
    bool completed = false;
    std::vector<AzureEvent> events;
  };

  static bool basic_with_token(const std::string& header, const std::string& token) {
    if (header.rfind("Basic ", 0) != 0) return false;
    // Decode base64 (test-only, tolerant).
    static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    int bits = 0;
    unsigned value = 0;
    for (const char c : header.substr(6)) {
      const auto at = kAlphabet.find(c);
      if (at == std::string::npos) break;
      value = (value << 6) | static_cast<unsigned>(at);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += static_cast<char>((value >> bits) & 0xff);
      }
    }
    const auto colon = out.find(':');
    return colon != std::string::npos && out.substr(colon + 1) == token;
  }

  static boost::asio::awaitable<net::HttpResponse> events(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    AzureEvent e;
    e.path = request.path;
    e.query = request.query;
    e.body = nlohmann::json::parse(request.body, nullptr, false);
    auto done = [&](net::HttpResponse response) {
      e.status = response.status;
      state->events.push_back(e);
      return response;
    };
    const std::string auth(request.header_or_empty("Authorization"));
    if (auth != "Bearer " + state->token && !basic_with_token(auth, state->token)) {
      net::HttpResponse redirect = net::HttpResponse::text(302, "");
      redirect.headers.emplace_back("Location", "https://login.example/_signin?realm=dev.azure.com");
      co_return done(redirect);
    }
    if (request.path.find("/distributedtask/hubs/") == std::string::npos || request.path.find("/events") == std::string::npos ||
        request.query.find("api-version=") == std::string::npos) {
      co_return done(net::HttpResponse::text(404, ""));
    }
    const auto& b = e.body;
    const std::string result = b.is_object() ? b.value("result", "") : "";
    if (!b.is_object() || b.value("name", "") != "TaskCompleted" || b.value("taskId", "") != state->task ||
        b.value("jobId", "") != state->job || (result != "succeeded" && result != "failed")) {
      co_return done(net::HttpResponse::json(400, nlohmann::json{{"message", "invalid event"}}));
    }
    if (state->completed) {
      co_return done(net::HttpResponse::json(400, nlohmann::json{{"message", "the task is already completed"}}));
    }
    state->completed = true;
    co_return done(net::HttpResponse::text(200, ""));
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

// The check's call (§2.2): the run context in headers, our body template.
inline std::string azure_check_call(const std::string& plan_url, const std::string& task, const std::string& job,
                                    const std::string& token, const std::string& basic, const nlohmann::json& body) {
  const std::string raw = body.dump();
  return "POST /webhooks/azure-devops HTTP/1.1\r\nHost: opsgate\r\nContent-Type: application/json\r\n"
         "Authorization: Basic " + basic + "\r\nPlanUrl: " + plan_url + "\r\nProjectId: " + AzureStandIn::kProject +
         "\r\nHubName: build\r\nPlanId: 2f8a5c3e-1d2b-4c6a-9e7f-0a1b2c3d4e5f\r\nJobId: " + job +
         "\r\nTimelineId: 2f8a5c3e-1d2b-4c6a-9e7f-0a1b2c3d4e5f\r\nTaskInstanceId: " + task + "\r\nAuthToken: " + token +
         "\r\nBuildId: 4711\r\nContent-Length: " + std::to_string(raw.size()) + "\r\n\r\n" + raw;
}

}  // namespace opsgate::test
