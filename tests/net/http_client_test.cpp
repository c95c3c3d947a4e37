#include <doctest/doctest.h>

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/net/http_client.hpp"
#include "src/net/http_client_support.hpp"
#include "src/net/http_server.hpp"
#include "src/net/resend_rule.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using opsgate::Errc;
using opsgate::Result;
using opsgate::net::HttpClient;
using opsgate::net::HttpClientOptions;
using opsgate::net::HttpClientRequest;
using opsgate::net::HttpClientResponse;
using opsgate::net::HttpRequest;
using opsgate::net::HttpResponse;
using opsgate::net::HttpServer;
using opsgate::net::HttpServerConfig;

// A stand-in server on 127.0.0.1:0 with its own two threads, so the client's
// io_context and the server's never wait on each other. Stopped (bounded) at the end.
class StandInServer {
 public:
  StandInServer() : server_(io_.get_executor(), config()) {}
  ~StandInServer() {
    if (threads_.empty()) {
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    asio::co_spawn(io_, server_.stop(), [done](std::exception_ptr) { done->set_value(); });
    stopped.wait_for(10s);
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  StandInServer(const StandInServer&) = delete;
  StandInServer& operator=(const StandInServer&) = delete;

  void route(std::string method, std::string path, opsgate::net::HttpHandler handler) {
    server_.route(std::move(method), std::move(path), std::move(handler));
  }
  void start() {
    auto started = server_.start();
    REQUIRE_MESSAGE(started.has_value(), (started ? "" : started.error().message));
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  std::string url(const std::string& path_and_query) const {
    return "http://127.0.0.1:" + std::to_string(server_.local_port()) + path_and_query;
  }

 private:
  static HttpServerConfig config() {
    HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.drain_timeout = 1s;
    c.max_connections = 512;
    return c;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  HttpServer server_;
  std::vector<std::thread> threads_;
};

// Runs one coroutine to completion on a fresh io_context of this thread.
template <class T>
T run(asio::awaitable<T> task) {
  asio::io_context io;
  std::optional<T> result;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&result, &failure](std::exception_ptr error, T value) {
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

asio::awaitable<Result<HttpClientResponse>> send_one(HttpClient* client, HttpClientRequest request) {
  auto result = co_await client->send(std::move(request));
  co_return result;
}

Result<HttpClientResponse> send_blocking(HttpClient& client, HttpClientRequest request) {
  return run(send_one(&client, std::move(request)));
}

HttpClientRequest get(const std::string& url) {
  HttpClientRequest request;
  request.url = url;
  request.timeout = 5s;
  return request;
}

// A port nothing listens on: bound, then closed again.
std::uint16_t closed_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

asio::awaitable<HttpResponse> echo(HttpRequest request) {
  nlohmann::json seen = {{"method", request.method},
                         {"path", request.path},
                         {"query", request.query},
                         {"body", request.body},
                         {"x_test", std::string(request.header_or_empty("X-Test"))},
                         {"content_type", std::string(request.header_or_empty("Content-Type"))},
                         {"user_agent", std::string(request.header_or_empty("User-Agent"))}};
  HttpResponse response = HttpResponse::json(200, seen);
  response.headers.emplace_back("X-Answer", "42");
  co_return response;
}

// Waits `delay` unless the server cancels it (at stop).
asio::awaitable<HttpResponse> slow(std::shared_ptr<std::atomic<int>> arrived, std::chrono::milliseconds delay,
                                   HttpRequest /*request*/) {
  ++*arrived;
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor, delay);
  const auto token = asio::as_tuple(asio::use_awaitable);
  co_await timer.async_wait(token);
  co_return HttpResponse::text(200, "slow done");
}

// Answers 503 `failures` times, then 200 "ok"; counts every request.
asio::awaitable<HttpResponse> flaky(std::shared_ptr<std::atomic<int>> count, int failures, HttpRequest /*request*/) {
  const int n = ++*count;
  if (n <= failures) {
    co_return HttpResponse::text(503, "try later");
  }
  co_return HttpResponse::text(200, "ok");
}

struct Gate {
  int expected = 0;
  std::atomic<int> arrived{0};
  std::atomic<int> peak{0};
  std::atomic<int> inside{0};
  std::atomic<std::size_t> threads_at_peak{0};
};

// Holds every request until `expected` are inside at once (or 10s pass): proves
// they were all in flight together.
asio::awaitable<HttpResponse> gate(std::shared_ptr<Gate> state, HttpRequest /*request*/) {
  const int now_inside = ++state->inside;
  ++state->arrived;
  int seen = state->peak.load();
  while (now_inside > seen && !state->peak.compare_exchange_weak(seen, now_inside)) {
  }
  if (now_inside == state->expected) {
    state->threads_at_peak = thread_count();
  }
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  const auto token = asio::as_tuple(asio::use_awaitable);
  while (state->arrived.load() < state->expected && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(10ms);
    co_await timer.async_wait(token);
  }
  --state->inside;
  co_return HttpResponse::text(200, "through");
}

}  // namespace

TEST_SUITE("net/http_client") {
  TEST_CASE("GET sends headers and the user agent and returns status, headers and body") {
    StandInServer server;
    server.route("GET", "/api/v1/query", &echo);
    server.start();
    HttpClientOptions options;
    options.user_agent = "opsgate-test/1";
    HttpClient client(options);
    auto request = get(server.url("/api/v1/query?query=up&x=%20"));
    request.headers.emplace_back("X-Test", "hello");
    const auto response = send_blocking(client, request);
    REQUIRE_MESSAGE(response, (response ? "" : response.error().message));
    CHECK(response->status == 200);
    CHECK(response->header("x-answer") == "42");
    CHECK(response->header("CONTENT-TYPE") == "application/json");
    CHECK_FALSE(response->header("X-Missing").has_value());
    const auto seen = nlohmann::json::parse(response->body);
    CHECK(seen["method"] == "GET");
    CHECK(seen["path"] == "/api/v1/query");
    CHECK(seen["query"] == "query=up&x=%20");
    CHECK(seen["x_test"] == "hello");
    CHECK(seen["user_agent"] == "opsgate-test/1");
  }

  TEST_CASE("POST sends the body byte for byte with its content type") {
    StandInServer server;
    server.route("POST", "/api/v1/query", &echo);
    server.start();
    HttpClient client;
    auto request = get(server.url("/api/v1/query"));
    request.method = "POST";
    request.body = std::string("query=sum%28up%29&x=\xff", 22);
    request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    const auto response = send_blocking(client, request);
    REQUIRE(response);
    CHECK(response->status == 200);
    const auto seen = nlohmann::json::parse(response->body, nullptr, false, true);
    REQUIRE_FALSE(seen.is_discarded());
    CHECK(seen["method"] == "POST");
    CHECK(seen["content_type"] == "application/x-www-form-urlencoded");
    CHECK(seen["body"].get<std::string>().substr(0, 17) == "query=sum%28up%29");
  }

  TEST_CASE("any HTTP status is a response, not an error") {
    StandInServer server;
    server.start();
    HttpClient client;
    const auto response = send_blocking(client, get(server.url("/nothing-here")));
    REQUIRE(response);
    CHECK(response->status == 404);
  }

  TEST_CASE("a server that does not answer in time is a timeout naming the URL without its query") {
    StandInServer server;
    auto arrived = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/slow", [arrived](HttpRequest r) { return slow(arrived, 3000ms, std::move(r)); });
    server.start();
    HttpClient client;
    auto request = get(server.url("/slow?token=secret"));
    request.timeout = 300ms;
    // The server would answer 200 after 3 s: an error can only come from the timeout.
    const auto response = send_blocking(client, request);
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::timeout);
    CHECK(response.error().message == server.url("/slow") + " did not answer within 300ms");
    CHECK(arrived->load() == 1);
  }

  TEST_CASE("connection refused is unavailable with a clear message and no query or credentials") {
    HttpClient client;
    const auto port = std::to_string(closed_port());
    const auto response =
        send_blocking(client, get("http://opsgate:hunter2@127.0.0.1:" + port + "/api/v1/query?query=up&token=abc"));
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::unavailable);
    CHECK(response.error().message == "cannot connect to http://127.0.0.1:" + port + "/api/v1/query: Connection refused");
  }

  TEST_CASE("a response over max_response_bytes fails with upstream, one under it passes") {
    StandInServer server;
    server.route("GET", "/big", [](HttpRequest) -> asio::awaitable<HttpResponse> {
      co_return HttpResponse::text(200, std::string(10000, 'x'));
    });
    server.start();
    HttpClient client;
    auto request = get(server.url("/big"));
    request.max_response_bytes = 1024;
    const auto refused = send_blocking(client, request);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::upstream);
    CHECK(refused.error().message == "response larger than 1024 bytes from " + server.url("/big"));
    request.max_response_bytes = 10000;
    const auto accepted = send_blocking(client, request);
    REQUIRE(accepted);
    CHECK(accepted->body.size() == 10000);
  }

  TEST_CASE("a GET is retried on 503 with backoff until it succeeds, counting the attempts") {
    StandInServer server;
    auto count = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/flaky", [count](HttpRequest r) { return flaky(count, 2, std::move(r)); });
    server.start();
    HttpClient client;
    auto request = get(server.url("/flaky"));
    request.max_retries = 3;
    const auto response = send_blocking(client, request);
    REQUIRE(response);
    CHECK(response->status == 200);
    CHECK(response->body == "ok");
    CHECK(count->load() == 3);
  }

  TEST_CASE("retries stop at max_retries and the last 5xx is the response") {
    StandInServer server;
    auto count = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/down", [count](HttpRequest r) { return flaky(count, 100, std::move(r)); });
    server.start();
    HttpClient client;
    auto request = get(server.url("/down"));
    request.max_retries = 1;
    const auto response = send_blocking(client, request);
    REQUIRE(response);
    CHECK(response->status == 503);
    CHECK(count->load() == 2);
  }

  TEST_CASE("without max_retries, and for POST, a 503 is not retried") {
    StandInServer server;
    auto gets = std::make_shared<std::atomic<int>>(0);
    auto posts = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/flaky", [gets](HttpRequest r) { return flaky(gets, 1, std::move(r)); });
    server.route("POST", "/flaky", [posts](HttpRequest r) { return flaky(posts, 1, std::move(r)); });
    server.start();
    HttpClient client;
    const auto plain = send_blocking(client, get(server.url("/flaky")));
    REQUIRE(plain);
    CHECK(plain->status == 503);
    CHECK(gets->load() == 1);

    auto post = get(server.url("/flaky"));
    post.method = "POST";
    post.body = "x=1";
    post.max_retries = 3;
    const auto posted = send_blocking(client, post);
    REQUIRE(posted);
    CHECK(posted->status == 503);
    CHECK(posts->load() == 1);
  }

  TEST_CASE("connection errors are retried for GET, then reported") {
    HttpClient client;
    const auto port = std::to_string(closed_port());
    auto request = get("http://127.0.0.1:" + port + "/x");
    request.max_retries = 2;
    const auto response = send_blocking(client, request);
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::unavailable);
  }

  TEST_CASE("429 is sent again for any method after its Retry-After, a longer Retry-After is the answer") {
    StandInServer server;
    auto count = std::make_shared<std::atomic<int>>(0);
    server.route("POST", "/limited", [count](HttpRequest) -> asio::awaitable<HttpResponse> {
      const int n = ++*count;
      if (n == 1) {
        HttpResponse busy = HttpResponse::text(429, "slow down");
        busy.headers.emplace_back("Retry-After", "0");
        co_return busy;
      }
      co_return HttpResponse::text(200, "posted");
    });
    auto long_count = std::make_shared<std::atomic<int>>(0);
    server.route("POST", "/closed-for-an-hour", [long_count](HttpRequest) -> asio::awaitable<HttpResponse> {
      ++*long_count;
      HttpResponse busy = HttpResponse::text(429, "slow down");
      busy.headers.emplace_back("Retry-After", "3600");
      co_return busy;
    });
    server.start();
    HttpClient client;
    auto post = get(server.url("/limited"));
    post.method = "POST";
    post.body = "x=1";
    post.max_retries = 2;
    post.retry_base = 1ms;
    const auto posted = send_blocking(client, post);
    REQUIRE(posted);
    CHECK(posted->status == 200);
    CHECK(count->load() == 2);

    auto patient = get(server.url("/closed-for-an-hour"));
    patient.method = "POST";
    patient.max_retries = 3;
    patient.max_retry_after = 60s;
    const auto refused = send_blocking(client, patient);
    REQUIRE(refused);
    CHECK(refused->status == 429);
    CHECK(long_count->load() == 1);
  }

  TEST_CASE("a POST that never reached the server is sent again, and a caller's retry_status decides other answers") {
    HttpClient client;
    auto refused = get("http://127.0.0.1:" + std::to_string(closed_port()) + "/x");
    refused.method = "POST";
    refused.max_retries = 1;
    refused.retry_base = 1ms;
    const auto never = send_blocking(client, refused);
    REQUIRE_FALSE(never);
    CHECK(never.error().code == Errc::unavailable);

    StandInServer server;
    auto count = std::make_shared<std::atomic<int>>(0);
    server.route("POST", "/flaky", [count](HttpRequest r) { return flaky(count, 1, std::move(r)); });
    server.start();
    auto post = get(server.url("/flaky"));
    post.method = "POST";
    post.max_retries = 2;
    post.retry_base = 1ms;
    post.retry_status = [](int status) { return status == 503; };  // the platform documents 503 as "not processed"
    const auto posted = send_blocking(client, post);
    REQUIRE(posted);
    CHECK(posted->status == 200);
    CHECK(count->load() == 2);
  }

  TEST_CASE("100 requests are in flight at once on one worker thread") {
    StandInServer server;
    auto state = std::make_shared<Gate>();
    state->expected = 100;
    server.route("GET", "/gate", [state](HttpRequest r) { return gate(state, std::move(r)); });
    server.start();
    const std::size_t before = thread_count();
    HttpClient client;
    CHECK(thread_count() == before);  // the worker starts with the first request

    asio::io_context io;
    std::vector<std::optional<Result<HttpClientResponse>>> results(100);
    for (std::size_t i = 0; i < results.size(); ++i) {
      asio::co_spawn(io, send_one(&client, get(server.url("/gate"))),
                     [&results, i](std::exception_ptr error, Result<HttpClientResponse> result) {
                       if (!error) {
                         results[i] = std::move(result);
                       }
                     });
    }
    io.run();
    int ok = 0;
    for (const auto& result : results) {
      ok += (result && *result && (*result)->status == 200) ? 1 : 0;
    }
    CHECK(ok == 100);
    CHECK(state->peak.load() == 100);
    CHECK(state->threads_at_peak.load() == before + 1);  // the client added one thread, no more
  }

  TEST_CASE("beyond max_in_flight a request waits its turn, beyond max_held too it is refused at once") {
    // Every request is held by the server until the test has submitted all six,
    // so which ones ran, waited or were refused does not depend on timing.
    StandInServer server;
    auto released = std::make_shared<std::atomic<bool>>(false);
    auto inside = std::make_shared<std::atomic<int>>(0);
    auto peak = std::make_shared<std::atomic<int>>(0);
    auto arrived = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/held", [=](HttpRequest) -> asio::awaitable<HttpResponse> {
      ++*arrived;
      const int now_inside = ++*inside;
      int seen = peak->load();
      while (now_inside > seen && !peak->compare_exchange_weak(seen, now_inside)) {
      }
      asio::steady_timer timer(co_await asio::this_coro::executor);
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!released->load() && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(5ms);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      --*inside;
      co_return HttpResponse::text(200, "through");
    });
    server.start();
    HttpClient client(HttpClientOptions{.max_in_flight = 2, .max_held = 3});

    asio::io_context io;
    std::vector<std::optional<Result<HttpClientResponse>>> results(6);
    for (std::size_t i = 0; i < results.size(); ++i) {
      asio::co_spawn(io, send_one(&client, get(server.url("/held"))),
                     [&results, i](std::exception_ptr error, Result<HttpClientResponse> result) {
                       if (!error) {
                         results[i] = std::move(result);
                       }
                     });
    }
    // Runs after the six have been submitted (the io_context is FIFO).
    asio::post(io, [released] { released->store(true); });
    io.run();
    int ok = 0;
    int refused = 0;
    for (const auto& result : results) {
      REQUIRE(result);
      if (*result && (*result)->status == 200) {
        ++ok;
      } else if (!*result && result->error().code == Errc::unavailable &&
                 result->error().message.find("waiting (3)") != std::string::npos) {
        ++refused;
      }
    }
    CHECK(ok == 5);  // two at once, then the three held ones as slots freed
    CHECK(refused == 1);
    CHECK(peak->load() <= 2);  // never more than max_in_flight on the wire
    CHECK(arrived->load() == 5);
  }

  TEST_CASE("without libcurl a request fails with the library's name and the package to install, and the next one too") {
    StandInServer server;
    auto arrived = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/up", [arrived](HttpRequest) -> asio::awaitable<HttpResponse> {
      arrived->fetch_add(1);
      co_return HttpResponse::text(200, "up");
    });
    server.start();
    HttpClient client(HttpClientOptions{.curl_library = "libcurl-opsgate-missing.so.4"});
    for (int i = 0; i < 2; ++i) {
      const auto response = send_blocking(client, get(server.url("/up")));
      REQUIRE_FALSE(response);
      CHECK(response.error().code == Errc::unavailable);
      CHECK(response.error().message.find("cannot load libcurl-opsgate-missing.so.4 for outbound HTTP") == 0);
      CHECK(response.error().message.find("apt-get install libcurl4") != std::string::npos);
    }
    CHECK(arrived->load() == 0);
  }

  TEST_CASE("a client that has sent nothing has started no worker thread") {
    const std::size_t before = thread_count();
    {
      HttpClient idle;
      CHECK(thread_count() == before);
    }
    StandInServer server;  // its two threads are started by start(), after the count
    server.route("GET", "/up", [](HttpRequest) -> asio::awaitable<HttpResponse> { co_return HttpResponse::text(200, "up"); });
    HttpClient client;
    CHECK(thread_count() == before);
    server.start();
    const std::size_t started = thread_count();
    REQUIRE(send_blocking(client, get(server.url("/up"))));
    CHECK(thread_count() == started + 1);  // the worker, from the first request on
  }

  TEST_CASE("destroying the client completes pending requests with unavailable") {
    StandInServer server;
    auto arrived = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/hang", [arrived](HttpRequest r) { return slow(arrived, 20000ms, std::move(r)); });
    server.start();
    auto client = std::make_unique<HttpClient>();

    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::vector<std::optional<Result<HttpClientResponse>>> results(5);
    for (std::size_t i = 0; i < results.size(); ++i) {
      asio::co_spawn(io, send_one(client.get(), get(server.url("/hang"))),
                     [&results, i](std::exception_ptr error, Result<HttpClientResponse> result) {
                       if (!error) {
                         results[i] = std::move(result);
                       }
                     });
    }
    std::thread runner([&io] { io.run(); });
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (arrived->load() < 5 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(arrived->load() == 5);
    // The server holds each request for 20 s: every result below comes from the shutdown.
    client.reset();
    work.reset();
    runner.join();
    for (const auto& result : results) {
      REQUIRE(result.has_value());
      REQUIRE_FALSE(result->has_value());
      CHECK(result->error().code == Errc::unavailable);
      CHECK(result->error().message == "the HTTP client shut down before " + server.url("/hang") + " answered");
    }
  }

  TEST_CASE("a caller that stops waiting (send || timer) cancels the request at once") {
    using namespace asio::experimental::awaitable_operators;
    StandInServer server;
    auto arrived = std::make_shared<std::atomic<int>>(0);
    server.route("GET", "/hang", [arrived](HttpRequest r) { return slow(arrived, 20000ms, std::move(r)); });
    server.start();
    HttpClient client;
    struct Outcome {
      std::size_t winner = 9;
    };
    auto race = [](HttpClient* http, HttpClientRequest request) -> asio::awaitable<Outcome> {
      auto executor = co_await asio::this_coro::executor;
      asio::steady_timer timer(executor, 300ms);
      auto sent = http->send(std::move(request));
      auto waited = timer.async_wait(asio::use_awaitable);
      auto either = std::move(sent) || std::move(waited);
      auto both = co_await std::move(either);
      co_return Outcome{both.index()};
    };
    // The server holds the request for 20 s: finishing at all means the timer won.
    const Outcome outcome = run(race(&client, get(server.url("/hang"))));
    CHECK(outcome.winner == 1);
    // The client is still healthy afterwards.
    const auto again = send_blocking(client, get(server.url("/nothing")));
    REQUIRE(again);
    CHECK(again->status == 404);
  }

  TEST_CASE("bad URLs, methods and headers are invalid_input and never sent") {
    HttpClient client;
    const auto scheme = send_blocking(client, get("ftp://127.0.0.1/x"));
    REQUIRE_FALSE(scheme);
    CHECK(scheme.error().code == Errc::invalid_input);
    CHECK(scheme.error().message == "unsupported URL scheme 'ftp' (only http and https)");

    const auto garbage = send_blocking(client, get("not a url"));
    REQUIRE_FALSE(garbage);
    CHECK(garbage.error().code == Errc::invalid_input);

    auto injected = get("http://127.0.0.1:1/x");
    injected.headers.emplace_back("X-Token", "abc\r\nX-Evil: 1");
    const auto header = send_blocking(client, injected);
    REQUIRE_FALSE(header);
    CHECK(header.error().code == Errc::invalid_input);
    CHECK(header.error().message.find("abc") == std::string::npos);

    auto method = get("http://127.0.0.1:1/x");
    method.method = "GET /";
    const auto bad_method = send_blocking(client, method);
    REQUIRE_FALSE(bad_method);
    CHECK(bad_method.error().code == Errc::invalid_input);
  }
}

TEST_SUITE("net/http_client_support") {
  using opsgate::net::detail::display_url;
  using opsgate::net::detail::format_timeout;
  using opsgate::net::detail::retry_status;
  using opsgate::net::detail::retryable_method;
  using opsgate::net::Idempotent;

  TEST_CASE("display_url drops credentials, query and fragment") {
    CHECK(display_url("http://u:p@127.0.0.1:9090/api/v1/query?query=up#x").value() ==
          "http://127.0.0.1:9090/api/v1/query");
    CHECK(display_url("https://prom.example/prom/").value() == "https://prom.example/prom/");
    CHECK(display_url("HTTP://host").value() == "http://host/");
    CHECK_FALSE(display_url("file:///etc/passwd"));
    CHECK_FALSE(display_url(""));
  }

  TEST_CASE("5xx is retried only for idempotent calls unless the caller says which statuses mean not processed") {
    CHECK(retry_status({}, Idempotent::yes, 503));
    CHECK_FALSE(retry_status({}, Idempotent::no, 503));
    CHECK_FALSE(retry_status({}, Idempotent::yes, 404));
    CHECK(retry_status([](int s) { return s == 412; }, Idempotent::no, 412));
    CHECK(retryable_method("GET"));
    CHECK(retryable_method("HEAD"));
    CHECK_FALSE(retryable_method("POST"));
    CHECK_FALSE(retryable_method("DELETE"));
  }

  TEST_CASE("timeouts read like people write them") {
    CHECK(format_timeout(300ms) == "300ms");
    CHECK(format_timeout(10s) == "10s");
    CHECK(format_timeout(1500ms) == "1.5s");
    CHECK(format_timeout(1205ms) == "1.205s");
  }

  TEST_CASE("resend rule: a POST that reached a server which closed without answering is not sent again") {
    // A server that reads the request, then hangs up: it may have acted on it.
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    const auto port = acceptor.local_endpoint().port();
    std::atomic<int> received{0};
    std::thread server([&] {
      boost::system::error_code ec;
      asio::ip::tcp::socket socket = acceptor.accept(ec);
      if (ec) {
        return;
      }
      std::array<char, 4096> buffer{};
      socket.read_some(asio::buffer(buffer), ec);
      ++received;
      socket.close();
    });
    HttpClient client;
    auto request = get("http://127.0.0.1:" + std::to_string(port) + "/api/chat.postMessage");
    request.method = "POST";
    request.body = "{}";
    const auto response = send_blocking(client, request);
    REQUIRE_FALSE(response);
    CHECK(response.error().code == Errc::timeout);
    CHECK(opsgate::net::outcome_unknown(response.error()));
    CHECK_FALSE(opsgate::net::may_resend(response.error(), opsgate::net::Idempotent::no));
    CHECK(opsgate::net::may_resend(response.error(), opsgate::net::Idempotent::yes));
    server.join();
    CHECK(received.load() == 1);
    acceptor.non_blocking(true);
    boost::system::error_code again;
    acceptor.accept(again);
    CHECK(again == asio::error::would_block);  // no second connection: not sent again

    // Refused: it never arrived, so even a post may be sent again.
    const auto refused = send_blocking(client, get("http://127.0.0.1:" + std::to_string(closed_port()) + "/x"));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::unavailable);
    CHECK(opsgate::net::may_resend(refused.error(), opsgate::net::Idempotent::no));
  }

  TEST_CASE("resend rule: Retry-After in seconds, nothing for dates or garbage") {
    HttpClientResponse response;
    CHECK_FALSE(opsgate::net::retry_after(response));
    response.headers = {{"retry-after", "7"}};
    CHECK(opsgate::net::retry_after(response) == std::chrono::seconds(7));
    response.headers = {{"Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT"}};
    CHECK_FALSE(opsgate::net::retry_after(response));
    response.headers = {{"Retry-After", "-1"}};
    CHECK_FALSE(opsgate::net::retry_after(response));
    // Azure OpenAI's retry-after-ms, preferred to Retry-After when both are sent.
    response.headers = {{"Retry-After", "1"}, {"retry-after-ms", "20"}};
    CHECK(opsgate::net::retry_after(response) == std::chrono::milliseconds(20));
    response.headers = {{"Retry-After", "99999999999999999"}};
    CHECK(opsgate::net::retry_after(response) == std::chrono::hours(24));  // clamped, never overflowing
  }
}
