#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/net/http_server.hpp"
#include "tests/support/http_test_client.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using opsgate::net::HttpRequest;
using opsgate::net::HttpResponse;
using opsgate::net::HttpServer;
using opsgate::net::HttpServerConfig;
using opsgate::test::http_request;
using opsgate::test::HttpTestConnection;
using opsgate::test::make_request;

// How long a test waits for a positive signal (a closed connection, a finished
// stop): only a hang reaches it, so it measures the code, not the machine.
constexpr auto kPatience = 20s;

HttpServerConfig loopback_config() {
  HttpServerConfig config;
  config.listen = "127.0.0.1:0";
  return config;
}

// A server on two io_context threads (the daemon must be correct with two), stopped
// (bounded) when the test ends.
class RunningServer {
 public:
  explicit RunningServer(HttpServerConfig config = loopback_config())
      : server_(io_.get_executor(), std::move(config)) {}

  ~RunningServer() {
    if (threads_.empty()) {
      return;
    }
    auto stopped = begin_stop();
    stopped.wait_for(10s);
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }

  HttpServer& server() { return server_; }
  std::uint16_t port() const { return server_.local_port(); }

  void start() {
    auto started = server_.start();
    REQUIRE_MESSAGE(started.has_value(), (started ? "" : started.error().message));
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }

  // Runs stop() on the server's io_context; the future is ready when it completes.
  std::future<void> begin_stop() {
    auto done = std::make_shared<std::promise<void>>();
    auto future = done->get_future();
    asio::co_spawn(io_, server_.stop(), [done](std::exception_ptr error) {
      if (error) {
        done->set_exception(error);
        return;
      }
      done->set_value();
    });
    return future;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  HttpServer server_;
  std::vector<std::thread> threads_;
};

asio::awaitable<HttpResponse> echo(HttpRequest request) {
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.body = std::move(request.body);
  response.headers.emplace_back("X-Seen-Signature", std::string(request.header_or_empty("X-Signature")));
  response.headers.emplace_back("X-Seen-Path", request.path);
  response.headers.emplace_back("X-Seen-Query", request.query);
  response.headers.emplace_back("X-Seen-Remote", request.remote_address);
  co_return response;
}

asio::awaitable<HttpResponse> immediate_response(HttpResponse response) {
  co_return response;
}

asio::awaitable<HttpResponse> throwing(HttpRequest /*request*/) {
  throw std::runtime_error("handler bug for the test");
  co_return HttpResponse::text(200, "unreachable");
}

asio::awaitable<HttpResponse> header_injection(HttpRequest /*request*/) {
  HttpResponse response = HttpResponse::text(200, "fine");
  response.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: stolen=1");
  response.headers.emplace_back("X-Good", "1");
  co_return response;
}

// A handler that runs until the test releases it (or the server cancels it):
// "still running" is then a fact the test controls, not a guess about timing.
struct SlowHandler {
  std::promise<void> started;
  std::atomic<bool> released{false};
  std::atomic<bool> cancelled{false};
};

asio::awaitable<HttpResponse> slow(std::shared_ptr<SlowHandler> state, HttpRequest /*request*/) {
  state->started.set_value();
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  try {
    while (!state->released) {
      timer.expires_after(5ms);
      const auto waited = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (std::get<0>(waited)) {
        state->cancelled = true;
        co_return HttpResponse::text(503, "cancelled");
      }
    }
  } catch (const boost::system::system_error& e) {
    // Cancelled between two waits (the timer had already fired): the next
    // co_await throws instead of completing with an error. Still cancelled.
    state->cancelled = e.code() == asio::error::operation_aborted;
    throw;
  }
  co_return HttpResponse::text(200, "slow done");
}

void route_slow(HttpServer& server, std::shared_ptr<SlowHandler> state) {
  server.route("GET", "/slow", [state](HttpRequest request) { return slow(state, std::move(request)); });
}

nlohmann::json parse_json(const std::string& text) {
  return nlohmann::json::parse(text, nullptr, false);
}

}  // namespace

TEST_SUITE("net/http_server") {
  TEST_CASE("GET /healthz answers 200 ok") {
    RunningServer running;
    running.start();
    const auto response = http_request(running.port(), "GET", "/healthz");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "ok");
  }

  TEST_CASE("/readyz is 503 until every reported check is ok, then 200") {
    RunningServer running;
    running.start();

    auto response = http_request(running.port(), "GET", "/readyz");
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(response->header("Content-Type") == "application/json");
    CHECK(parse_json(response->body) == nlohmann::json::parse(R"({"ready":false,"checks":{}})"));

    running.server().set_ready("audit", false, "opening the database");
    response = http_request(running.port(), "GET", "/readyz");
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(parse_json(response->body) ==
          nlohmann::json::parse(R"({"ready":false,"checks":{"audit":{"ok":false,"detail":"opening the database"}}})"));

    running.server().set_ready("audit", true, "");
    response = http_request(running.port(), "GET", "/readyz");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(parse_json(response->body) ==
          nlohmann::json::parse(R"({"ready":true,"checks":{"audit":{"ok":true,"detail":""}}})"));
  }

  TEST_CASE("a POST handler receives the raw body byte for byte, NUL and invalid UTF-8 included") {
    RunningServer running;
    running.server().route("POST", "/echo", &echo);
    running.start();
    const std::string body("sig\0check \xff\xfe\xc3\x28 {\"text\":\"h\xe9\"}\r\n", 31);
    REQUIRE(body.size() == 31);
    const auto response =
        http_request(running.port(), "POST", "/echo?team=T1&x=%20", body, {{"x-SIGNATURE", "v0=abc123"}});
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == body);
    CHECK(response->header("X-Seen-Signature") == "v0=abc123");
    CHECK(response->header("X-Seen-Path") == "/echo");
    CHECK(response->header("X-Seen-Query") == "team=T1&x=%20");
    CHECK(response->header("X-Seen-Remote") == "127.0.0.1");
  }

  TEST_CASE("an unknown path is 404 with a JSON error naming method and path") {
    RunningServer running;
    running.start();
    const auto response = http_request(running.port(), "GET", "/x?y=1");
    REQUIRE(response);
    CHECK(response->status == 404);
    CHECK(response->header("Content-Type") == "application/json");
    CHECK(response->body == R"({"error":"no route for GET /x"})");
  }

  TEST_CASE("a known path with the wrong method is 405 with an Allow header") {
    RunningServer running;
    running.server().route("POST", "/echo", &echo);
    running.server().route("PUT", "/echo", &echo);
    running.start();

    auto response = http_request(running.port(), "GET", "/echo");
    REQUIRE(response);
    CHECK(response->status == 405);
    CHECK(response->header("Allow") == "POST, PUT");

    response = http_request(running.port(), "POST", "/healthz", "x");
    REQUIRE(response);
    CHECK(response->status == 405);
    CHECK(response->header("Allow") == "GET");
  }

  TEST_CASE("a body over body_limit is 413, also when announced with Expect: 100-continue") {
    HttpServerConfig config = loopback_config();
    config.body_limit = 16;
    RunningServer running(config);
    running.server().route("POST", "/echo", &echo);
    running.start();

    auto response = http_request(running.port(), "POST", "/echo", std::string(100, 'a'));
    REQUIRE(response);
    CHECK(response->status == 413);
    CHECK(response->header("Connection") == "close");

    // The client waits for 100 Continue and never sends the body.
    HttpTestConnection waiting(running.port());
    REQUIRE(waiting.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n"));
    response = waiting.read_response();
    REQUIRE(response);
    CHECK(response->status == 413);

    response = http_request(running.port(), "POST", "/echo", std::string(16, 'b'));
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == std::string(16, 'b'));
  }

  TEST_CASE("a body within the limit sent after 100 Continue is read") {
    RunningServer running;
    running.server().route("POST", "/echo", &echo);
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    REQUIRE(connection.send("hello"));
    const auto response = connection.read_response();  // skips the interim 100
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "hello");
  }

  TEST_CASE("malformed requests are 400 and headers over 8 KiB are 431") {
    RunningServer running;
    running.start();

    HttpTestConnection garbage(running.port());
    REQUIRE(garbage.send("this is not http\r\n\r\n"));
    auto response = garbage.read_response();
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(garbage.wait_closed(kPatience));

    HttpTestConnection huge(running.port());
    REQUIRE(huge.send(make_request("GET", "/healthz", {}, {{"X-Padding", std::string(9000, 'p')}})));
    response = huge.read_response();
    REQUIRE(response);
    CHECK(response->status == 431);
  }

  TEST_CASE("keep-alive serves two requests, and two pipelined ones, on one connection") {
    RunningServer running;
    running.server().route("POST", "/echo", &echo);
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.connected());

    REQUIRE(connection.send(make_request("GET", "/healthz")));
    auto response = connection.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("Connection") != "close");

    REQUIRE(connection.send(make_request("POST", "/echo", "second")));
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->body == "second");

    REQUIRE(connection.send(make_request("POST", "/echo", "third") + make_request("POST", "/echo", "fourth")));
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->body == "third");
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->body == "fourth");
  }

  TEST_CASE("a request arriving in pieces is read whole, and one arriving whole with the next behind it too") {
    // The server parses what one read brought and reads on only for the rest:
    // both paths, and the switch between them inside one request, are exercised.
    RunningServer running;
    running.server().route("POST", "/echo", &echo);
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.connected());
    const std::string body(3000, 'b');
    const std::string request = make_request("POST", "/echo", body);
    const std::size_t header_end = request.find("\r\n\r\n");
    REQUIRE(connection.send(request.substr(0, 20)));                             // half the request line
    REQUIRE(connection.send(request.substr(20, header_end + 4 + 100 - 20)));      // the header and some body
    REQUIRE(connection.send(request.substr(header_end + 4 + 100) + make_request("POST", "/echo", "next")));
    auto response = connection.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == body);
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->body == "next");
  }

  TEST_CASE("an answer larger than the socket's send buffer arrives whole, and the connection serves on") {
    // Written at once as far as the send buffer takes it, the rest asynchronously.
    RunningServer running;
    running.server().route("GET", "/big", [](HttpRequest /*request*/) {
      return immediate_response(HttpResponse::text(200, std::string(16 * 1024 * 1024, 'x')));
    });
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.connected());
    REQUIRE(connection.send(make_request("GET", "/big") + make_request("GET", "/healthz")));
    auto response = connection.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body.size() == 16 * 1024 * 1024);
    CHECK(response->body.find_first_not_of('x') == std::string::npos);
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->body == "ok");
  }

  TEST_CASE("a client sending half a header is closed after request_timeout") {
    HttpServerConfig config = loopback_config();
    config.request_timeout = 1s;
    RunningServer running(config);
    running.start();
    HttpTestConnection slowloris(running.port());
    REQUIRE(slowloris.send("GET /healthz HTTP/1.1\r\nHost: 127"));
    // Nothing else closes a connection that is half-way through a request.
    CHECK(slowloris.wait_closed(kPatience));
  }

  TEST_CASE("an idle keep-alive connection is closed after idle_timeout") {
    HttpServerConfig config = loopback_config();
    config.idle_timeout = 1s;
    RunningServer running(config);
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.send(make_request("GET", "/healthz")));
    const auto response = connection.read_response();
    REQUIRE(response);
    CHECK(connection.wait_closed(kPatience));
  }

  TEST_CASE("over max_connections a new connection gets 503 and is closed") {
    HttpServerConfig config = loopback_config();
    config.max_connections = 1;
    RunningServer running(config);
    running.start();

    HttpTestConnection first(running.port());
    REQUIRE(first.send(make_request("GET", "/healthz")));
    auto response = first.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);

    HttpTestConnection second(running.port());
    REQUIRE(second.send(make_request("GET", "/healthz")));
    response = second.read_response();
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(response->header("Retry-After") == "1");
    CHECK(second.wait_closed(kPatience));

    // The slot frees when the first connection goes.
    first.close();
    bool served = false;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!served && std::chrono::steady_clock::now() < deadline) {
      response = http_request(running.port(), "GET", "/healthz");
      served = response && response->status == 200;
      if (!served) {
        std::this_thread::sleep_for(20ms);
      }
    }
    CHECK(served);
  }

  TEST_CASE("a handler that throws gets 500 and the connection keeps serving") {
    RunningServer running;
    running.server().route("GET", "/boom", &throwing);
    running.start();
    HttpTestConnection connection(running.port());
    REQUIRE(connection.send(make_request("GET", "/boom")));
    auto response = connection.read_response();
    REQUIRE(response);
    CHECK(response->status == 500);
    CHECK(response->body == R"({"error":"internal error"})");

    REQUIRE(connection.send(make_request("GET", "/healthz")));
    response = connection.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
  }

  TEST_CASE("response headers with CR or LF are dropped, not sent") {
    RunningServer running;
    running.server().route("GET", "/inject", &header_injection);
    running.start();
    const auto response = http_request(running.port(), "GET", "/inject");
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->header("X-Good") == "1");
    CHECK(response->header("X-Bad").empty());
    CHECK(response->header("Set-Cookie").empty());
  }

  TEST_CASE("stop lets an in-flight request finish, closes idle connections and refuses new ones") {
    HttpServerConfig config = loopback_config();
    config.drain_timeout = 60s;  // never reached: the test releases the handler
    RunningServer running(config);
    auto state = std::make_shared<SlowHandler>();
    route_slow(running.server(), state);
    running.start();

    HttpTestConnection idle(running.port());
    REQUIRE(idle.send(make_request("GET", "/healthz")));
    REQUIRE(idle.read_response());

    HttpTestConnection busy(running.port());
    REQUIRE(busy.send(make_request("GET", "/slow")));
    REQUIRE(state->started.get_future().wait_for(kPatience) == std::future_status::ready);

    auto stopped = running.begin_stop();
    bool refused = false;
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (!refused && std::chrono::steady_clock::now() < deadline) {
      HttpTestConnection probe(running.port(), 500ms);
      refused = !probe.connected();
      if (!refused) {
        std::this_thread::sleep_for(10ms);
      }
    }
    CHECK(refused);
    CHECK(idle.wait_closed(kPatience));
    CHECK(stopped.wait_for(0s) == std::future_status::timeout);  // still draining: the handler is not released
    CHECK_FALSE(state->cancelled);

    state->released = true;
    const auto response = busy.read_response();
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "slow done");
    CHECK(response->header("Connection") == "close");
    CHECK(stopped.wait_for(kPatience) == std::future_status::ready);
    CHECK_FALSE(state->cancelled);
  }

  TEST_CASE("stop cancels a handler still running after drain_timeout and closes its connection") {
    HttpServerConfig config = loopback_config();
    config.drain_timeout = 1s;
    RunningServer running(config);
    auto state = std::make_shared<SlowHandler>();  // never released
    route_slow(running.server(), state);
    running.start();

    HttpTestConnection busy(running.port());
    REQUIRE(busy.send(make_request("GET", "/slow")));
    REQUIRE(state->started.get_future().wait_for(kPatience) == std::future_status::ready);

    // The handler never finishes by itself: stop completing at all means it was cancelled.
    auto stopped = running.begin_stop();
    CHECK(stopped.wait_for(kPatience) == std::future_status::ready);
    CHECK(state->cancelled);
    CHECK(busy.wait_closed(kPatience));
  }

  TEST_CASE("binding a port already in use is a clear error") {
    RunningServer first;
    first.start();
    HttpServerConfig config = loopback_config();
    config.listen = "127.0.0.1:" + std::to_string(first.port());
    asio::io_context io;
    HttpServer second(io.get_executor(), config);
    const auto started = second.start();
    REQUIRE_FALSE(started.has_value());
    CHECK(started.error().code == opsgate::Errc::unavailable);
    CHECK(started.error().message == "cannot listen on " + config.listen +
                                         ": Address already in use (is another opsgate running? change server.listen)");
  }

  TEST_CASE("routes refuse duplicates and paths without a leading slash") {
    asio::io_context io;
    HttpServer server(io.get_executor(), loopback_config());
    server.route("POST", "/echo", &echo);
    CHECK_THROWS_AS(server.route("POST", "/echo", &echo), std::invalid_argument);
    CHECK_THROWS_AS(server.route("GET", "/healthz", &echo), std::invalid_argument);
    CHECK_THROWS_AS(server.route("GET", "echo", &echo), std::invalid_argument);
  }
}
