// The only translation unit of opsgate that includes Beast (compile time).
// Shape follows Beast 1.81's example/http/server/awaitable, with every limit
// explicit and expected failures as values (as_tuple) instead of exceptions.

#include "src/net/http_server.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// The first read of a request (after an idle wait) takes at most this much.
constexpr std::size_t kFirstReadBytes = 4096;
// After an error response we read and discard what the client is still sending, so
// closing does not turn into a TCP reset that destroys the response before it is read.
constexpr std::chrono::seconds kLingerTime{1};
constexpr std::size_t kLingerBytes = 1024 * 1024;
// Connections turned away with 503 while over max_connections; beyond this they are
// closed at once, so a flood cannot hold file descriptors in lingering rejections.
constexpr std::size_t kMaxRejecting = 64;
// stop(): after drain_timeout, how long cancelled handlers get to unwind.
constexpr std::chrono::seconds kForceCloseGrace{1};
// A failing accept (EMFILE, ENFILE) would otherwise spin the loop.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

enum class Phase { idle, reading, handling, writing };

void log_exception(std::string_view what, std::exception_ptr error) {
  if (!error) {
    return;
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("http: {} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("http: {} failed with a non-standard exception", what);
  }
}

// One accepted connection. Owned by the server's session table (and its coroutine);
// every member below executor_ is touched only on executor_, the connection's strand.
struct Session {
  Session(std::uint64_t id, tcp::socket socket)
      : id_(id), executor_(socket.get_executor()), stream_(std::move(socket)) {}

  // A keep-alive connection waiting for its next request is closed now; one with a
  // request under way finishes it and then closes.
  void begin_drain() {
    draining_ = true;
    if (phase_ == Phase::idle) {
      close();
    }
  }

  // drain_timeout is over: cancel the handler (its pending operation completes with
  // operation_aborted) and close the socket under any pending read or write.
  void force_close() {
    cancelled_ = true;
    cancel_.emit(asio::cancellation_type::terminal);
    close();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  const std::uint64_t id_;
  const asio::any_io_executor executor_;
  beast::tcp_stream stream_;
  std::string remote_address_;
  asio::cancellation_signal cancel_;
  Phase phase_ = Phase::idle;
  bool draining_ = false;
  bool cancelled_ = false;
};

struct ReadyCheck {
  bool ok = false;
  std::string detail;
};

struct RouteMatch {
  bool path_known = false;
  HttpHandler handler;  // empty when the path is known but the method is not
  std::string allow;    // the path's methods, for 405
};

HttpResponse error_json(int status, std::string message) {
  return HttpResponse::json(status, nlohmann::json{{"error", std::move(message)}});
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_header_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

// No CR, LF, NUL or other control characters: they would split or corrupt the header.
bool valid_header_value(std::string_view value) {
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return false;
    }
  }
  return true;
}

// A handler's answer as a Beast message. Clears keep_alive when the handler asked
// for "Connection: close".
http::response<http::string_body> to_beast(HttpResponse response, unsigned version, bool& keep_alive) {
  if (response.status < 200 || response.status > 599) {
    spdlog::error("http: a handler answered with status {}, which is not a final HTTP status; sending 500",
                  response.status);
    response = error_json(500, "internal error");
  }
  std::size_t dropped = 0;
  if (!valid_header_value(response.content_type)) {
    ++dropped;
    response.content_type = "application/octet-stream";
  }
  http::response<http::string_body> reply;
  reply.version(version);
  reply.result(static_cast<unsigned>(response.status));
  reply.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) {
    if (!valid_header_name(name) || !valid_header_value(value)) {
      ++dropped;
      continue;
    }
    if (iequals_ascii(name, "Connection")) {
      if (iequals_ascii(value, "close")) {
        keep_alive = false;
      }
      continue;
    }
    if (iequals_ascii(name, "Content-Length") || iequals_ascii(name, "Transfer-Encoding") ||
        iequals_ascii(name, "Content-Type")) {
      continue;
    }
    reply.insert(name, value);
  }
  if (dropped > 0) {
    spdlog::warn("http: dropped {} response header(s) with an invalid name or value (CR, LF or control bytes)",
                 dropped);
  }
  reply.body() = std::move(response.body);
  reply.keep_alive(keep_alive);
  reply.prepare_payload();
  return reply;
}

HttpRequest to_request(http::request<http::string_body> message, std::string remote_address) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) {
    request.query = request.target.substr(question + 1);
  }
  request.headers.reserve(static_cast<std::size_t>(std::distance(message.begin(), message.end())));
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.remote_address = std::move(remote_address);
  return request;
}

// What to answer when reading a request failed; 0 means close without answering
// (the client went away, timed out, or stop() closed the connection).
int status_for_read_error(const beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    return 413;
  }
  if (ec == http::error::header_limit) {
    return 431;
  }
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
    return 0;
  }
  if (ec.category() == make_error_code(http::error::bad_target).category()) {
    return 400;
  }
  return 0;
}

std::string read_error_message(int status, std::size_t body_limit) {
  if (status == 413) {
    return "the request body is larger than the limit of " + std::to_string(body_limit) + " bytes";
  }
  if (status == 431) {
    return "the request header is larger than the limit of " + std::to_string(kHttpHeaderLimit) + " bytes";
  }
  return "malformed HTTP request";
}

// Feeds what is already buffered to the parser, as Beast's read operations
// would, without waiting for more. need_more is not an error: the caller reads on.
beast::error_code parse_buffered(http::request_parser<http::string_body>& parser, beast::flat_buffer& buffer) {
  beast::error_code ec;
  while (buffer.size() > 0 && !parser.is_done()) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      return {};
    }
    if (ec || used == 0) {
      return ec;
    }
  }
  return ec;
}

asio::awaitable<HttpResponse> immediate(HttpResponse response) {
  co_return response;
}

asio::awaitable<HttpResponse> healthz(HttpRequest /*request*/) {
  co_return HttpResponse::text(200, "ok");
}

// Reads and discards what the client still sends (bounded in time and bytes), then
// closes: see kLingerTime.
asio::awaitable<void> linger_close(std::shared_ptr<Session> session) {
  beast::error_code ec;
  session->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  session->stream_.expires_after(kLingerTime);
  std::array<char, 4096> scratch{};
  std::size_t discarded = 0;
  while (discarded < kLingerBytes) {
    const auto read = co_await session->stream_.async_read_some(asio::buffer(scratch), kUseTuple);
    if (std::get<0>(read)) {
      break;
    }
    discarded += std::get<1>(read);
  }
  session->stream_.close();
}

// Answers an error that ends the connection (the request stream cannot be trusted
// any more), then closes it.
asio::awaitable<void> refuse_and_close(std::shared_ptr<Session> session, HttpResponse response) {
  session->phase_ = Phase::writing;
  bool keep_alive = false;
  http::response<http::string_body> reply = to_beast(std::move(response), 11, keep_alive);
  session->stream_.expires_after(kLingerTime);
  const auto written = co_await http::async_write(session->stream_, reply, kUseTuple);
  if (std::get<0>(written)) {
    session->stream_.close();
    co_return;
  }
  auto lingering = linger_close(session);
  co_await std::move(lingering);
}

}  // namespace

// The server's state, owned jointly (shared_ptr) by HttpServer and its coroutines.
// acceptor_ and the session table live on strand_; routes and checks behind their mutexes.
class detail::HttpServerImpl : public std::enable_shared_from_this<detail::HttpServerImpl> {
 public:
  HttpServerImpl(asio::any_io_executor executor, HttpServerConfig config)
      : executor_(std::move(executor)),
        strand_(asio::make_strand(executor_)),
        config_(std::move(config)),
        acceptor_(strand_),
        drain_timer_(strand_) {}

  RouteMatch find_route(const std::string& method, const std::string& path) {
    std::lock_guard lock(routes_mutex_);
    RouteMatch match;
    auto by_path = routes_.find(path);
    if (by_path == routes_.end()) {
      // A prefix route ("/api/v1/gates/*") takes any path below it.
      const auto slash = path.rfind('/');
      for (auto cut = slash; cut != std::string::npos && cut > 0 && by_path == routes_.end();
           cut = path.rfind('/', cut - 1)) {
        by_path = routes_.find(path.substr(0, cut + 1) + "*");
      }
    }
    if (by_path == routes_.end()) {
      return match;
    }
    match.path_known = true;
    const auto by_method = by_path->second.find(method);
    if (by_method != by_path->second.end()) {
      match.handler = by_method->second;
      return match;
    }
    for (const auto& entry : by_path->second) {
      match.allow += (match.allow.empty() ? "" : ", ") + entry.first;
    }
    return match;
  }

  // Not ready until someone has reported a check: an empty list proves nothing.
  HttpResponse readiness() {
    nlohmann::json checks = nlohmann::json::object();
    bool ready = false;
    {
      std::lock_guard lock(ready_mutex_);
      ready = !checks_.empty() && !shutting_down_;
      for (const auto& [name, check] : checks_) {
        checks[name] = {{"ok", check.ok}, {"detail", check.detail}};
        ready = ready && check.ok;
      }
      if (shutting_down_) {
        checks["http_server"] = {{"ok", false}, {"detail", "shutting down"}};
      }
    }
    return HttpResponse::json(ready ? 200 : 503, nlohmann::json{{"ready", ready}, {"checks", std::move(checks)}});
  }

  // On strand_.
  void start_session(tcp::socket socket);
  void end_session(std::uint64_t id) {
    sessions_.erase(id);
    if (stopping_ && sessions_.empty()) {
      drain_timer_.cancel();
    }
  }
  void close_all_now() {
    stopping_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    for (const auto& entry : sessions_) {
      auto session = entry.second;
      asio::post(session->executor_, [session] { session->force_close(); });
    }
  }

  const asio::any_io_executor executor_;
  const asio::strand<asio::any_io_executor> strand_;
  const HttpServerConfig config_;

  // On strand_ only.
  tcp::acceptor acceptor_;
  asio::steady_timer drain_timer_;  // stop() waits on it; end_session() cancels it when the last one goes
  std::unordered_map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::size_t rejecting_ = 0;
  std::uint64_t next_session_id_ = 1;
  bool stopping_ = false;
  std::string last_accept_error_;

  // Any thread.
  std::atomic<bool> started_{false};
  std::atomic<std::uint16_t> local_port_{0};

  std::mutex routes_mutex_;
  std::map<std::string, std::map<std::string, HttpHandler>> routes_;  // path -> method -> handler

  std::mutex ready_mutex_;
  std::map<std::string, ReadyCheck> checks_;
  bool shutting_down_ = false;  // guarded by ready_mutex_
};

namespace {

using ImplPtr = std::shared_ptr<detail::HttpServerImpl>;

asio::awaitable<HttpResponse> handle_request(ImplPtr impl, std::shared_ptr<Session> session, HttpRequest request) {
  if (request.path.empty() || request.path.front() != '/') {
    co_return error_json(400, "the request target must be a path such as /healthz");
  }
  RouteMatch match = impl->find_route(request.method, request.path);
  if (!match.path_known) {
    co_return error_json(404, "no route for " + request.method + " " + request.path);
  }
  if (!match.handler) {
    HttpResponse refusal = error_json(405, "method " + request.method + " is not allowed for " + request.path);
    refusal.headers.emplace_back("Allow", match.allow);
    co_return refusal;
  }
  const std::string method = request.method;
  const std::string path = request.path;
  std::string failure;
  try {
    auto task = match.handler(std::move(request));
    HttpResponse response = co_await std::move(task);
    co_return response;
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "a non-standard exception";
  }
  if (session->cancelled_) {
    spdlog::info("http: {} {} was cancelled at shutdown (drain_timeout reached)", method, path);
  } else {
    spdlog::error("http: handler for {} {} threw: {}", method, path, failure);
  }
  co_return error_json(500, "internal error");
}

// One connection: requests in sequence (HTTP/1.1 keep-alive), each read within
// request_timeout, the gaps between them bounded by idle_timeout.
asio::awaitable<void> run_session(ImplPtr impl, std::shared_ptr<Session> session) {
  const HttpServerConfig& config = impl->config_;
  beast::flat_buffer buffer;  // bounded by the parser's header and body limits
  bool first = true;
  // Synchronous writes on this socket return would_block instead of waiting
  // (asynchronous operations are not affected): see the write below.
  beast::error_code mode_ec;
  session->stream_.socket().non_blocking(true, mode_ec);
  const bool write_at_once = !mode_ec;
  for (;;) {
    if (session->draining_) {
      break;
    }
    if (buffer.size() == 0) {
      // Waiting for a request's first byte is idleness, not a slow request.
      session->phase_ = Phase::idle;
      session->stream_.expires_after(first ? config.request_timeout : config.idle_timeout);
      const auto idle = co_await session->stream_.async_read_some(buffer.prepare(kFirstReadBytes), kUseTuple);
      if (std::get<0>(idle)) {
        break;
      }
      buffer.commit(std::get<1>(idle));
    }
    first = false;

    session->phase_ = Phase::reading;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(kHttpHeaderLimit));
    parser.body_limit(static_cast<std::uint64_t>(config.body_limit));
    // A small request usually arrived whole with its first read: parsed here it
    // costs no further asynchronous read (each one a post and a timer).
    beast::error_code read_ec = parse_buffered(parser, buffer);
    if (!read_ec && !parser.is_done()) {
      // One deadline from the first byte to the last: a client trickling bytes
      // (slowloris) cannot keep the connection beyond request_timeout.
      session->stream_.expires_after(config.request_timeout);
    }
    if (!read_ec && !parser.is_header_done()) {
      const auto header_read = co_await http::async_read_header(session->stream_, buffer, parser, kUseTuple);
      read_ec = std::get<0>(header_read);
    }
    if (!read_ec && !parser.is_done()) {
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        const auto continued = co_await http::async_write(session->stream_, go_on, kUseTuple);
        read_ec = std::get<0>(continued);
      }
    }
    if (!read_ec && !parser.is_done()) {
      const auto body_read = co_await http::async_read(session->stream_, buffer, parser, kUseTuple);
      read_ec = std::get<0>(body_read);
    }
    if (read_ec) {
      const int status = status_for_read_error(read_ec);
      if (status == 0) {
        break;
      }
      spdlog::debug("http: connection {} from {}: {} ({})", session->id_, session->remote_address_,
                    read_ec.message(), status);
      auto refusal = refuse_and_close(session, error_json(status, read_error_message(status, config.body_limit)));
      co_await std::move(refusal);
      co_return;
    }

    http::request<http::string_body> message = parser.release();
    const unsigned version = message.version();
    bool keep_alive = message.keep_alive();
    HttpRequest request = to_request(std::move(message), session->remote_address_);
    const std::string method = request.method;
    const std::string target = request.target;

    session->phase_ = Phase::handling;
    auto handling = handle_request(impl, session, std::move(request));
    HttpResponse response = co_await std::move(handling);
    if (session->cancelled_) {
      break;
    }

    session->phase_ = Phase::writing;
    keep_alive = keep_alive && !session->draining_;
    const int status = response.status;
    http::response<http::string_body> reply = to_beast(std::move(response), version, keep_alive);
    http::serializer<false, http::string_body> serializer(reply);
    beast::error_code write_ec = asio::error::would_block;
    if (write_at_once) {
      // Most answers fit in the socket's send buffer: written now, without an
      // asynchronous write (a timer, a post and a resumption per request).
      http::write(session->stream_.socket(), serializer, write_ec);
    }
    if (write_ec == asio::error::would_block || write_ec == asio::error::try_again) {
      // The rest waits for the client to read, within request_timeout.
      session->stream_.expires_after(config.request_timeout);
      const auto written = co_await http::async_write(session->stream_, serializer, kUseTuple);
      write_ec = std::get<0>(written);
    }
    spdlog::debug("http: connection {} from {}: {} {} -> {}", session->id_, session->remote_address_, method,
                  target, status);
    if (write_ec || !keep_alive) {
      break;
    }
  }
  session->close();
}

// Over max_connections: answer 503 at once, without reading the request.
asio::awaitable<void> reject_connection(std::shared_ptr<Session> session) {
  HttpResponse busy = error_json(503, "too many connections; try again shortly");
  busy.headers.emplace_back("Retry-After", "1");
  auto refusal = refuse_and_close(session, std::move(busy));
  co_await std::move(refusal);
}

// Each connection's own strand. Over the io_context's executor itself when
// that is what the server runs on: a strand of the type-erased executor is a
// second layer of type erasure, and too large to be held inline, so every
// completion of the connection copied and released it on the heap.
asio::any_io_executor connection_strand(const asio::any_io_executor& executor) {
  if (const auto* context = executor.target<asio::io_context::executor_type>()) {
    return asio::make_strand(*context);
  }
  return asio::make_strand(executor);
}

asio::awaitable<void> accept_loop(ImplPtr impl) {
  for (;;) {
    if (impl->stopping_) {
      co_return;
    }
    auto accepted = co_await impl->acceptor_.async_accept(connection_strand(impl->executor_), kUseTuple);
    if (impl->stopping_) {
      co_return;  // a socket accepted just before stop() is dropped (closed by its destructor)
    }
    const beast::error_code ec = std::get<0>(accepted);
    if (ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // Logged when the error changes, not on every retry.
      if (ec.message() != impl->last_accept_error_) {
        impl->last_accept_error_ = ec.message();
        spdlog::warn("http: accepting connections failed: {} (retrying every {} ms)", ec.message(),
                     kAcceptRetryDelay.count());
      }
      asio::steady_timer pause(impl->strand_);
      pause.expires_after(kAcceptRetryDelay);
      const auto paused = co_await pause.async_wait(kUseTuple);
      static_cast<void>(paused);
      continue;
    }
    impl->last_accept_error_.clear();
    impl->start_session(tcp::socket(std::move(std::get<1>(accepted))));
  }
}

asio::awaitable<bool> wait_for_sessions(ImplPtr impl, std::chrono::steady_clock::time_point deadline) {
  while (!impl->sessions_.empty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      co_return false;
    }
    impl->drain_timer_.expires_at(deadline);
    const auto waited = co_await impl->drain_timer_.async_wait(kUseTuple);
    static_cast<void>(waited);
  }
  co_return true;
}

// Runs on strand_.
asio::awaitable<void> drain(ImplPtr impl) {
  impl->stopping_ = true;
  {
    std::lock_guard lock(impl->ready_mutex_);
    impl->shutting_down_ = true;
  }
  beast::error_code ec;
  impl->acceptor_.close(ec);
  if (impl->sessions_.empty()) {
    co_return;
  }
  spdlog::info("http: stopped accepting; draining {} connection(s) for up to {}s", impl->sessions_.size(),
               impl->config_.drain_timeout.count());
  for (const auto& entry : impl->sessions_) {
    auto session = entry.second;
    asio::post(session->executor_, [session] { session->begin_drain(); });
  }
  auto draining = wait_for_sessions(impl, std::chrono::steady_clock::now() + impl->config_.drain_timeout);
  const bool drained = co_await std::move(draining);
  if (drained) {
    co_return;
  }
  spdlog::warn("http: {} connection(s) still busy after drain_timeout ({}s); cancelling them",
               impl->sessions_.size(), impl->config_.drain_timeout.count());
  impl->close_all_now();
  auto closing = wait_for_sessions(impl, std::chrono::steady_clock::now() + kForceCloseGrace);
  const bool closed = co_await std::move(closing);
  if (!closed) {
    spdlog::warn("http: {} handler(s) ignored cancellation; stop() returns without them", impl->sessions_.size());
  }
}

}  // namespace

void detail::HttpServerImpl::start_session(tcp::socket socket) {
  const std::uint64_t id = next_session_id_++;
  auto session = std::make_shared<Session>(id, std::move(socket));
  beast::error_code ec;
  const auto remote = session->stream_.socket().remote_endpoint(ec);
  if (!ec) {
    session->remote_address_ = remote.address().to_string();
  }
  auto self = shared_from_this();
  if (sessions_.size() >= config_.max_connections) {
    if (rejecting_ >= kMaxRejecting) {
      session->close();
      return;
    }
    ++rejecting_;
    asio::co_spawn(session->executor_, reject_connection(session), [self](std::exception_ptr error) {
      log_exception("rejecting a connection", error);
      asio::post(self->strand_, [self] { --self->rejecting_; });
    });
    return;
  }
  sessions_.emplace(id, session);
  asio::co_spawn(session->executor_, run_session(self, session),
                 asio::bind_cancellation_slot(session->cancel_.slot(), [self, id](std::exception_ptr error) {
                   log_exception("a connection", error);
                   asio::post(self->strand_, [self, id] { self->end_session(id); });
                 }));
}

HttpServer::HttpServer(asio::any_io_executor executor, HttpServerConfig config)
    : impl_(std::make_shared<detail::HttpServerImpl>(std::move(executor), std::move(config))) {
  route("GET", "/healthz", &healthz);
  // Not a coroutine lambda: it builds the answer now and hands it to one. The raw
  // pointer is safe: routes live inside *impl.
  detail::HttpServerImpl* impl = impl_.get();
  route("GET", "/readyz", [impl](HttpRequest /*request*/) { return immediate(impl->readiness()); });
}

HttpServer::~HttpServer() {
  auto impl = impl_;
  asio::post(impl->strand_, [impl] { impl->close_all_now(); });
}

void HttpServer::route(std::string method, std::string path, HttpHandler handler) {
  if (method.empty() || path.empty() || path.front() != '/') {
    throw std::invalid_argument("route '" + method + " " + path + "': need a method and a path starting with '/'");
  }
  if (!handler) {
    throw std::invalid_argument("route " + method + " " + path + ": the handler is empty");
  }
  std::lock_guard lock(impl_->routes_mutex_);
  auto& by_method = impl_->routes_[path];
  if (by_method.count(method) != 0) {
    throw std::invalid_argument("route " + method + " " + path + " is registered twice");
  }
  by_method.emplace(std::move(method), std::move(handler));
}

void HttpServer::set_ready(std::string name, bool ok, std::string detail) {
  std::lock_guard lock(impl_->ready_mutex_);
  impl_->checks_[std::move(name)] = ReadyCheck{ok, std::move(detail)};
}

Result<void> HttpServer::start() {
  detail::HttpServerImpl& impl = *impl_;
  const std::string& listen = impl.config_.listen;
  if (impl.started_.exchange(true)) {
    return fail(Errc::internal, "the HTTP server on " + listen + " was started twice");
  }
  const auto address = parse_listen_address(listen);
  if (!address) {
    impl.started_ = false;
    return fail(Errc::invalid_input, "cannot listen on '" + listen +
                                         "': expected host:port with an IP address, such as 127.0.0.1:8088 or "
                                         "[::1]:8088 (change server.listen)");
  }
  const tcp::endpoint endpoint(asio::ip::make_address(address->host), address->port);
  beast::error_code ec;
  impl.acceptor_.open(endpoint.protocol(), ec);
  if (!ec) {
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT; a port
    // with a live listener still fails with "Address already in use".
    impl.acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    impl.acceptor_.bind(endpoint, ec);
  }
  if (!ec) {
    impl.acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  tcp::endpoint bound;
  if (!ec) {
    bound = impl.acceptor_.local_endpoint(ec);
  }
  if (ec) {
    beast::error_code ignored;
    impl.acceptor_.close(ignored);
    impl.started_ = false;
    std::string hint = "change server.listen";
    if (ec == asio::error::address_in_use) {
      hint = "is another opsgate running? change server.listen";
    } else if (ec == asio::error::access_denied) {
      hint = "ports below 1024 need root or CAP_NET_BIND_SERVICE; change server.listen";
    } else if (ec == boost::system::errc::address_not_available) {
      hint = "is that address on this machine? change server.listen";
    }
    return fail(Errc::unavailable, "cannot listen on " + listen + ": " + ec.message() + " (" + hint + ")");
  }
  impl.local_port_ = bound.port();
  spdlog::info("http: listening on {} (port {})", listen, bound.port());
  asio::co_spawn(impl.strand_, accept_loop(impl_),
                 [](std::exception_ptr error) { log_exception("the accept loop", error); });
  return {};
}

std::uint16_t HttpServer::local_port() const {
  return impl_->local_port_;
}

const HttpServerConfig& HttpServer::config() const {
  return impl_->config_;
}

asio::awaitable<void> HttpServer::stop() {
  return asio::co_spawn(impl_->strand_, drain(impl_), asio::use_awaitable);
}

}  // namespace opsgate::net
