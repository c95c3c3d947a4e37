#pragma once
// The daemon's HTTP server: webhooks, /healthz, /readyz. Beast lives only in
// http_server.cpp; routes see the Beast-free HttpRequest/HttpResponse.

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"
#include "src/net/http_server_config.hpp"
#include "src/net/http_types.hpp"

namespace opsgate::net {

namespace detail {
class HttpServerImpl;
}  // namespace detail

// An HTTP/1.1 server with exact-path routes; each connection runs on its own strand.
// Owned by the app; route()/set_ready()/local_port() from any thread, start()/stop() by the owner.
//
// Built in: GET /healthz -> 200 "ok"; GET /readyz -> 200 when at least one check has
// been reported and all are ok, else 503, with
// {"ready":bool,"checks":{name:{"ok":bool,"detail":"..."}}}.
// Refusals: 400 malformed, 404 unknown path, 405 wrong method (with Allow), 413 body
// over body_limit, 431 header over kHttpHeaderLimit, 500 handler threw (logged),
// 503 over max_connections (then closed).
class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor executor, HttpServerConfig config);
  // Closes the listener and every connection without waiting; call stop() first to drain.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Exact match on method (case-sensitive) and path (no query, not decoded);
  // a path ending in "/*" is a prefix route for every path below it that has
  // no route of its own (the deepest prefix wins).
  // Throws std::invalid_argument for a duplicate route or a path not starting with '/':
  // routes are registered at start-up.
  void route(std::string method, std::string path, HttpHandler handler);

  // Reports one readiness check for /readyz; thread-safe.
  void set_ready(std::string name, bool ok, std::string detail);

  // Binds and listens on config.listen, then accepts in the background. A bind failure
  // is a sysadmin-readable error ("cannot listen on ...: Address already in use (...)").
  Result<void> start();

  // The bound port (useful with port 0); 0 before start().
  std::uint16_t local_port() const;

  const HttpServerConfig& config() const;

  // Stops accepting (new connections are refused), closes idle keep-alive connections,
  // lets in-flight requests finish (their responses say Connection: close) for up to
  // drain_timeout, then cancels and closes the rest. Completes when all are gone
  // (or, for handlers that ignore cancellation, one second after that).
  boost::asio::awaitable<void> stop();

 private:
  std::shared_ptr<detail::HttpServerImpl> impl_;  // shared with the connection coroutines, which may outlive *this
};

}  // namespace opsgate::net
