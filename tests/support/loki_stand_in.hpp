#pragma once
// A stand-in Loki for the log backend's tests: net::HttpServer on 127.0.0.1:0
// with its own two threads, answering query_range and query with the
// captured fixtures (../shared/fixtures/loki/) or crafted bodies, and
// recording what it was asked. Query parameters Loki would refuse (no query,
// times that are not unix nanoseconds, end before start, limit over 5000, an
// unknown direction) get Loki's 400 with a plain-text body instead. Plus a fixed clock, the demo-like inventory
// and a helper that runs one coroutine to completion.

#include <chrono>
#include <exception>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
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

#include "src/core/clock.hpp"
#include "src/core/inventory.hpp"
#include "src/net/http_server.hpp"
#include "tests/support/fixed_clock.hpp"
#include "tests/support/form_decode.hpp"
#include "tests/support/loopback_http_server.hpp"

namespace opsgate::test {

// A fixture file captured from a real Loki, byte for byte.
inline std::string loki_fixture(const std::string& name) {
  const std::string path = std::string(OPSGATE_SHARED_DIR) + "/fixtures/loki/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("missing fixture " + path);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// What the stand-in answers on one path.
struct LokiReply {
  int status = 200;
  std::string content_type = "application/json; charset=UTF-8";  // what Loki sends, errors included
  std::string body;
  std::chrono::milliseconds delay{0};  // longer than the client's timeout: a timeout test
};

// One request the stand-in received.
struct LokiSeen {
  std::string path;
  std::map<std::string, std::string> params;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers) {
      if (net::iequals_ascii(n, name)) {
        return v;
      }
    }
    return "";
  }
};

// Owned by one test; answer()/seen() from the test's thread, handlers on the
// stand-in's own threads (hence the mutex).
class LokiStandIn {
 public:
  static constexpr const char* kQueryRange = "/loki/api/v1/query_range";
  static constexpr const char* kQuery = "/loki/api/v1/query";

  LokiStandIn() : state_(std::make_shared<State>()), server_(config()) {
    for (const char* path : {kQueryRange, kQuery}) {
      auto state = state_;
      const std::string p = path;
      // Not a coroutine itself: it hands over to one that takes everything by value.
      server_.route("GET", p, [state, p](net::HttpRequest request) { return handle(state, p, std::move(request)); });
    }
    server_.start();
  }

  LokiStandIn(const LokiStandIn&) = delete;
  LokiStandIn& operator=(const LokiStandIn&) = delete;

  void answer(const std::string& path, LokiReply reply) {
    std::lock_guard lock(state_->mutex);
    state_->replies[path] = std::move(reply);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_.local_port()); }

  std::vector<LokiSeen> seen() const {
    std::lock_guard lock(state_->mutex);
    return state_->seen;
  }

  // The last request on `path`; fails the test when there was none.
  LokiSeen last(const std::string& path) const {
    std::lock_guard lock(state_->mutex);
    for (auto it = state_->seen.rbegin(); it != state_->seen.rend(); ++it) {
      if (it->path == path) {
        return *it;
      }
    }
    throw std::runtime_error("the stand-in Loki saw no request on " + path);
  }

 private:
  struct State {
    mutable std::mutex mutex;
    std::map<std::string, LokiReply> replies;
    std::vector<LokiSeen> seen;
  };

  // What Loki 2.7 refuses in the query parameters (../shared/specs/prometheus-loki.md),
  // with its plain-text 400 bodies; nullopt when the request is one Loki serves.
  // One rule is the stand-in's own: an integer time before 2001 is refused, since
  // Loki reads integers as nanoseconds and seconds sent there ask about 1970.
  static std::optional<std::string> refusal(const std::string& path, const std::optional<std::map<std::string, std::string>>& params) {
    if (!params) {
      return "invalid URL escape in the query string";
    }
    const auto field = [&params](const char* name) -> std::optional<std::string> {
      const auto it = params->find(name);
      return it == params->end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    const auto query = field("query");
    if (!query || query->empty()) {
      return "parse error : syntax error: unexpected $end";
    }
    const auto nanoseconds = [](const std::string& text) -> std::optional<long long> {
      if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != std::string::npos) {
        return std::nullopt;
      }
      return std::stoll(text);
    };
    constexpr long long kYear2001Ns = 978307200LL * 1000000000LL;
    std::optional<long long> start;
    std::optional<long long> end;
    for (const char* name : {"start", "end", "time"}) {
      const auto value = field(name);
      if (!value) {
        continue;
      }
      const auto ns = nanoseconds(*value);
      if (!ns) {
        return "invalid parameter \"" + std::string(name) + "\": cannot parse \"" + *value +
               "\" to a valid timestamp (this stand-in takes unix nanoseconds)";
      }
      if (*ns < kYear2001Ns) {
        return "invalid parameter \"" + std::string(name) + "\": " + *value +
               " ns is before 2001: seconds sent where Loki reads nanoseconds?";
      }
      if (std::string(name) == "start") {
        start = ns;
      } else if (std::string(name) == "end") {
        end = ns;
      }
    }
    if (path == kQueryRange && start && end && *end <= *start) {
      return "end timestamp must not be before or equal to start time";
    }
    if (const auto limit = field("limit")) {
      if (limit->empty() || limit->find_first_not_of("0123456789") != std::string::npos || limit->size() > 9 ||
          std::stoi(*limit) <= 0) {
        return "invalid parameter \"limit\": " + *limit;
      }
      if (std::stoi(*limit) > 5000) {
        return "max entries limit per query exceeded, limit > max_entries_limit (" + *limit + " > 5000)";
      }
    }
    if (const auto direction = field("direction")) {
      if (*direction != "forward" && *direction != "backward") {
        return "invalid direction \"" + *direction + "\"";
      }
    }
    return std::nullopt;
  }

  static boost::asio::awaitable<net::HttpResponse> handle(std::shared_ptr<State> state, std::string path,
                                                          net::HttpRequest request) {
    LokiReply reply;
    {
      const auto params = decode_form_strict(request.query);
      const auto refused = refusal(path, params);
      std::lock_guard lock(state->mutex);
      state->seen.push_back(LokiSeen{path, params.value_or(std::map<std::string, std::string>{}), request.headers});
      const auto it = state->replies.find(path);
      if (refused) {
        reply = LokiReply{400, "text/plain; charset=utf-8", *refused + "\n", {}};
      } else {
        reply = it != state->replies.end() ? it->second : LokiReply{404, "text/plain; charset=utf-8", "404 page not found\n", {}};
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
    response.content_type = reply.content_type;
    response.body = reply.body;
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

// checkout and cart in prod and staging, with the demo's selectors.
inline std::shared_ptr<const Inventory> loki_test_inventory() {
  auto placements = [](const std::string& name, const std::string& ns_prefix) {
    std::map<std::string, TargetPlacement> out;
    for (const std::string env : {"prod", "staging"}) {
      const std::string ns = ns_prefix + "-" + env;
      out[env] = TargetPlacement{ns, name, "app=\"" + name + "\",namespace=\"" + ns + "\"",
                                 "{app=\"" + name + "\",namespace=\"" + ns + "\"}"};
    }
    return out;
  };
  std::vector<Target> targets{{"cart", {}, "shop", placements("cart", "shop")},
                              {"checkout", {"co"}, "shop", placements("checkout", "shop")}};
  std::vector<Environment> envs{{"prod", {"production"}}, {"staging", {"stage"}}};
  return std::make_shared<const Inventory>(std::move(targets), std::move(envs), "prod");
}

// Runs one coroutine to completion on `io` and returns its result.
template <class T>
T run_on(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&result, &failure](std::exception_ptr error, T value) {
    failure = error;
    if (!error) {
      result.emplace(std::move(value));
    }
  });
  io.run();
  io.restart();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*result);
}

}  // namespace opsgate::test
