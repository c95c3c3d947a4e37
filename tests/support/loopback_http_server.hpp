#pragma once
// The part every stand-in server shares: net::HttpServer on 127.0.0.1 with
// its own io_context and two threads, started after the routes are added and
// drained and joined on destruction (bounded to 10 s).

#include <chrono>
#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "src/net/http_server.hpp"

namespace opsgate::test {

class LoopbackHttpServer {
 public:
  explicit LoopbackHttpServer(net::HttpServerConfig config) : server_(io_.get_executor(), std::move(config)) {}
  ~LoopbackHttpServer() {
    if (threads_.empty()) {
      return;
    }
    auto done = std::make_shared<std::promise<void>>();
    auto stopped = done->get_future();
    boost::asio::co_spawn(io_, server_.stop(), [done](std::exception_ptr) { done->set_value(); });
    stopped.wait_for(std::chrono::seconds(10));
    work_.reset();
    io_.stop();
    for (auto& thread : threads_) {
      thread.join();
    }
  }
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  void route(std::string method, std::string path, net::HttpHandler handler) {
    server_.route(std::move(method), std::move(path), std::move(handler));
  }

  // Binds and starts serving; throws when the port cannot be bound.
  void start() {
    auto started = server_.start();
    if (!started) {
      throw std::runtime_error(started.error().message);
    }
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }

  std::uint16_t local_port() const { return server_.local_port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  net::HttpServer server_;
  std::vector<std::thread> threads_;
};

}  // namespace opsgate::test
