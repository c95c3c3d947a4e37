#pragma once
// Helpers for the Prometheus backend's tests: the demo inventory, a fixed
// clock, the captured fixtures, a stand-in Prometheus that answers them over
// real HTTP, and one coroutine run to completion. Header-only: tests/CMakeLists
// compiles only tests/<area>/*.cpp.

#include <chrono>
#include <exception>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/prometheus/prometheus_actions.hpp"
#include "src/core/clock.hpp"
#include "src/core/inventory.hpp"
#include "src/net/http_server.hpp"
#include "tests/support/fixed_clock.hpp"
#include "tests/support/form_decode.hpp"
#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test_prometheus {

// The demo's six targets in prod and staging, selectors as config.cpp makes
// them (app="<target>",namespace="<team>-<env>"), plus `ghost`, which no
// metric ever names.
inline std::shared_ptr<const Inventory> demo_inventory() {
  const std::vector<std::pair<std::string, std::string>> teams{
      {"checkout", "shop"}, {"payments-api", "payments"}, {"cart", "shop"},     {"search", "discovery"},
      {"frontend", "web"},  {"inventory", "shop"},        {"ghost", "nowhere"}};
  std::vector<Target> targets;
  for (const auto& [name, team] : teams) {
    Target target{name, {}, team, {}};
    for (const std::string env : {"prod", "staging"}) {
      const std::string ns = team + "-" + env;
      target.placements[env] =
          TargetPlacement{ns, name, "app=\"" + name + "\",namespace=\"" + ns + "\"", "{app=\"" + name + "\"}"};
    }
    targets.push_back(std::move(target));
  }
  targets[1].aliases = {"payments", "pay"};
  std::vector<Environment> envs{{"prod", {"production"}}, {"staging", {"stage"}}};
  return std::make_shared<const Inventory>(std::move(targets), std::move(envs), "prod");
}

// The instant the Prometheus tests run at: 2026-11-24T20:30:20Z, twelve
// minutes after the captured alert became active.
inline constexpr std::int64_t kCaptureUnixSeconds = 1795552220;

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A file of ../shared/fixtures/prometheus, byte for byte.
inline std::string fixture(const std::string& name) {
  const std::string text = read_text(std::string(OPSGATE_SHARED_DIR) + "/fixtures/prometheus/" + name);
  if (text.empty()) {
    throw std::runtime_error("missing fixture " + name);
  }
  return text;
}

// "a=1&b=x%20y" -> {a: 1, b: "x y"} ('+' is a space, as in forms); empty when malformed.
inline std::map<std::string, std::string> decode_form(const std::string& text) {
  return test::decode_form_strict(text).value_or(std::map<std::string, std::string>{});
}

// What the stand-in answers on one path, and how late.
struct Canned {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
};

// Shared between the stand-in and its handlers (which run on the server's threads).
struct StandInState {
  std::mutex mutex;
  std::map<std::string, Canned> answers;    // by path
  std::vector<net::HttpRequest> requests;  // everything received, in order
};

inline boost::asio::awaitable<net::HttpResponse> stand_in_answer(std::shared_ptr<StandInState> state,
                                                                 net::HttpRequest request) {
  Canned canned{404, R"({"status":"error","errorType":"not_found","error":"no canned answer"})", {}};
  {
    std::lock_guard lock(state->mutex);
    state->requests.push_back(request);
    const auto found = state->answers.find(request.path);
    if (found != state->answers.end()) {
      canned = found->second;
    }
  }
  if (canned.delay.count() > 0) {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor, canned.delay);
    const auto token = boost::asio::as_tuple(boost::asio::use_awaitable);
    co_await timer.async_wait(token);
  }
  net::HttpResponse response;
  response.status = canned.status;
  response.content_type = "application/json";
  response.body = canned.body;
  co_return response;
}

// A stand-in Prometheus on 127.0.0.1:0 that answers what the test tells it
// (captured fixtures), on its own two threads. Stopped, bounded, at the end.
class PrometheusStandIn {
 public:
  PrometheusStandIn() : server_(config()) {
    // /api/v2/alerts: the same stand-in plays Alertmanager.
    for (const char* path : {"/api/v1/query", "/api/v1/query_range", "/api/v1/alerts", "/api/v2/alerts"}) {
      for (const char* method : {"GET", "POST"}) {
        server_.route(method, path, [state = state_](net::HttpRequest r) { return stand_in_answer(state, std::move(r)); });
      }
    }
    server_.start();
  }
  PrometheusStandIn(const PrometheusStandIn&) = delete;
  PrometheusStandIn& operator=(const PrometheusStandIn&) = delete;

  void answer(const std::string& path, int status, std::string body, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(state_->mutex);
    state_->answers[path] = Canned{status, std::move(body), delay};
  }
  std::vector<net::HttpRequest> requests() const {
    std::lock_guard lock(state_->mutex);
    return state_->requests;
  }
  // The parameters of the last request: its query string, or its form body for a POST.
  std::map<std::string, std::string> last_params() const {
    std::lock_guard lock(state_->mutex);
    if (state_->requests.empty()) {
      return {};
    }
    const auto& last = state_->requests.back();
    return decode_form(last.method == "POST" ? last.body : last.query);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()); }

 private:
  static net::HttpServerConfig config() {
    net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = std::chrono::seconds(1);
    return c;
  }

  std::shared_ptr<StandInState> state_ = std::make_shared<StandInState>();
  test::LoopbackHttpServer server_;
};

// Runs one coroutine to completion on a fresh io_context of this thread.
template <class T>
T run_to_completion(boost::asio::awaitable<T> task) {
  boost::asio::io_context io;
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&result, &failure](std::exception_ptr error, T value) {
    failure = error;
    if (!error) {
      result.emplace(std::move(value));
    }
  });
  io.run();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*result);
}

// The three Prometheus actions of one config, with the client they share.
class PrometheusActions {
 public:
  explicit PrometheusActions(const actions::prometheus::PrometheusConfig& config,
                             std::shared_ptr<const Clock> clock = std::make_shared<test::FixedClock>(test::unix_seconds(kCaptureUnixSeconds)))
      : actions_(actions::prometheus::make_prometheus_actions(config, demo_inventory(), http_, std::move(clock))) {}

  Result<ActionResult> run(const std::string& action, nlohmann::json params) {
    for (const auto& candidate : actions_) {
      if (candidate->spec().name == action) {
        return run_to_completion(candidate->execute(ActionRequest{action, std::move(params)}));
      }
    }
    return fail(Errc::internal, "no Prometheus action " + action);
  }

 private:
  net::HttpClient http_;
  std::vector<std::unique_ptr<opsgate::Action>> actions_;
};

// A config for a server at `url`, without retries (tests count requests).
inline actions::prometheus::PrometheusConfig config_for(const std::string& url) {
  actions::prometheus::PrometheusConfig config;
  config.connection.url = url;
  config.connection.timeout = std::chrono::seconds(5);
  config.max_retries = 0;
  return config;
}

}  // namespace opsgate::test_prometheus
