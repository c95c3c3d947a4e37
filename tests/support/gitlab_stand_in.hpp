#pragma once
// A stand-in GitLab for deployment approvals (specs/cicd-gates.md §3.6):
// POST /api/v4/projects/:id/deployments/:did/approval (PRIVATE-TOKEN or
// Bearer; 201 and the deployment leaves `blocked`, or 400 {"message"} as
// GitLab words it), GET /api/v4/projects/:id/deployments/:did, and
// POST /api/v4/projects/:id/jobs/:jid/play (200 for a manual job, else 400).
// Also: the blocked Deployment Hook as GitLab sends it.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

struct GitlabCall {
  std::string method;
  std::string path;
  nlohmann::json body;
  int status = 0;
};

class GitlabStandIn {
 public:
  GitlabStandIn(std::string bot_token, std::string deployment, std::string job)
      : state_(std::make_shared<State>()), server_(config()) {
    state_->token = std::move(bot_token);
    state_->deployments[deployment] = "blocked";
    state_->jobs[job] = "manual";
    auto state = state_;
    server_.route("POST", "/api/v4/projects/*", [state](net::HttpRequest r) { return handle(state, std::move(r)); });
    server_.route("GET", "/api/v4/projects/*", [state](net::HttpRequest r) { return handle(state, std::move(r)); });
    server_.start();
  }
  std::string api_base() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()) + "/api/v4"; }
  std::vector<GitlabCall> calls() const {
    std::lock_guard lock(state_->mutex);
    return state_->calls;
  }
  std::string job_status(const std::string& job) const {
    std::lock_guard lock(state_->mutex);
    return state_->jobs[job];
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::string token;
    std::map<std::string, std::string> deployments;  // id -> status
    mutable std::map<std::string, std::string> jobs;  // id -> status
    std::vector<GitlabCall> calls;
  };

  static net::HttpResponse message(int status, const std::string& text) {
    return net::HttpResponse::json(status, nlohmann::json{{"message", text}});
  }

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, net::HttpRequest request) {
    std::lock_guard lock(state->mutex);
    GitlabCall call{request.method, request.path, nlohmann::json::parse(request.body, nullptr, false), 0};
    auto done = [&](net::HttpResponse response) {
      call.status = response.status;
      state->calls.push_back(call);
      return response;
    };
    const std::string auth(request.header_or_empty("PRIVATE-TOKEN"));
    if (auth != state->token && std::string(request.header_or_empty("Authorization")) != "Bearer " + state->token) {
      co_return done(message(401, "401 Unauthorized"));
    }
    // /api/v4/projects/{pid}/deployments/{did}[/approval] or /api/v4/projects/{pid}/jobs/{jid}/play
    std::vector<std::string> parts;
    std::size_t at = 1;
    while (at <= request.path.size()) {
      const auto next = std::min(request.path.find('/', at), request.path.size());
      parts.push_back(request.path.substr(at, next - at));
      at = next + 1;
    }
    if (parts.size() >= 6 && parts[4] == "jobs" && parts.size() == 7 && parts[6] == "play" && request.method == "POST") {
      auto job = state->jobs.find(parts[5]);
      if (job == state->jobs.end()) co_return done(message(404, "404 Job Not Found"));
      if (job->second != "manual") co_return done(message(400, "Unplayable Job"));
      job->second = "pending";
      co_return done(net::HttpResponse::json(200, nlohmann::json{{"id", std::stoll(parts[5])}, {"status", "pending"}}));
    }
    if (parts.size() < 6 || parts[4] != "deployments") co_return done(message(404, "404 Not Found"));
    auto deployment = state->deployments.find(parts[5]);
    if (deployment == state->deployments.end()) co_return done(message(404, "404 Deployment Not Found"));
    if (request.method == "GET" && parts.size() == 6) {
      co_return done(net::HttpResponse::json(200, nlohmann::json{{"id", std::stoll(parts[5])}, {"status", deployment->second}}));
    }
    if (request.method != "POST" || parts.size() != 7 || parts[6] != "approval") co_return done(message(404, "404 Not Found"));
    const std::string status = call.body.is_object() ? call.body.value("status", "") : "";
    if (status != "approved" && status != "rejected") co_return done(message(400, "Unrecognized approval status."));
    if (deployment->second != "blocked") co_return done(message(400, "This deployment is not waiting for approvals."));
    deployment->second = status == "approved" ? "created" : "failed";
    co_return done(net::HttpResponse::json(201, nlohmann::json{{"user", {{"username", "opsgate-bot"}}},
                                                               {"status", status},
                                                               {"created_at", "2026-11-24T10:05:00.000Z"},
                                                               {"comment", call.body.value("comment", "")}}));
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

inline std::string gitlab_hook(const std::string& token, const nlohmann::json& body) {
  const std::string raw = body.dump();
  return "POST /webhooks/gitlab HTTP/1.1\r\nHost: opsgate\r\nContent-Type: application/json\r\nX-Gitlab-Event: "
         "Deployment Hook\r\nX-Gitlab-Token: " + token + "\r\nContent-Length: " + std::to_string(raw.size()) + "\r\n\r\n" + raw;
}

inline nlohmann::json gitlab_blocked(const std::string& environment, std::int64_t deployment, std::int64_t job,
                                     const std::string& user) {
  return {{"object_kind", "deployment"},
          {"status", "blocked"},
          {"status_changed_at", "2026-08-02T07:59:54.000+00:00"},
          {"deployment_id", deployment},
          {"deployable_id", job},
          {"deployable_url", "https://gitlab.com/acme/shop/-/jobs/" + std::to_string(job)},
          {"environment", environment},
          {"project", {{"id", 85038800}, {"name", "shop"}, {"path_with_namespace", "acme/shop"},
                       {"web_url", "https://gitlab.com/acme/shop"}}},
          {"short_sha", "2166d75e"},
          {"ref", "main"},
          {"user", {{"id", 32548944}, {"name", "Alice"}, {"username", user}}},
          {"commit_url", "https://gitlab.com/acme/shop/-/commit/2166d75e44d9b13be5d7fc739fd40e7ba8a8eece"},
          {"commit_title", "Edit .gitlab-ci.yml"}};
}

}  // namespace opsgate::test
