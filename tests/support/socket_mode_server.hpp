#pragma once
// A stand-in Slack Socket Mode server for tests: a Beast WebSocket server on
// 127.0.0.1:0 on its own io thread. Each accepted connection gets Slack's
// `hello`; the test sends envelopes or `disconnect` frames on the newest
// connection, drops it, and reads what opsgate sent (acks). Every event
// (open n, closed n, dropped n) is logged in order. Compiles Beast: include
// it from one test file only.

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace opsgate::test {

class SocketModeServer {
 public:
  SocketModeServer() : acceptor_(io_, {boost::asio::ip::address_v4::loopback(), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SocketModeServer() {
    boost::asio::post(io_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      for (auto& c : connections_) {
        boost::beast::get_lowest_layer(c->ws).socket().close(ec);
      }
    });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  SocketModeServer(const SocketModeServer&) = delete;
  SocketModeServer& operator=(const SocketModeServer&) = delete;

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/link/?ticket=t1"; }

  // Sends one frame on the newest connection.
  void send(const nlohmann::json& frame) {
    const std::string text = frame.dump();
    boost::asio::post(io_, [this, text] {
      if (!connections_.empty()) {
        write(connections_.back(), text);
      }
    });
  }
  // Closes the newest connection's TCP socket without a close frame.
  void drop_newest() {
    boost::asio::post(io_, [this] {
      if (!connections_.empty()) {
        auto c = connections_.back();
        log("dropped " + std::to_string(c->number));
        boost::system::error_code ec;
        boost::beast::get_lowest_layer(c->ws).socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
        boost::beast::get_lowest_layer(c->ws).socket().close(ec);
      }
    });
  }

  std::vector<nlohmann::json> received() const {
    std::lock_guard lock(mutex_);
    return received_;
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  int accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket socket) : ws(std::move(socket)) {}
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws;
    boost::beast::flat_buffer buffer;
    std::deque<std::string> outbox;
    bool writing = false;
    int number = 0;
  };

  void log(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) {
        return;
      }
      auto c = std::make_shared<Connection>(std::move(socket));
      c->ws.async_accept([this, c](boost::system::error_code aec) {
        if (aec) {
          return;
        }
        {
          std::lock_guard lock(mutex_);
          c->number = ++accepted_;
          events_.push_back("open " + std::to_string(c->number));
        }
        connections_.push_back(c);
        write(c, R"({"type":"hello","num_connections":1,"connection_info":{"app_id":"A0BBB"},"debug_info":{"approximate_connection_time":3600}})");
        read(c);
      });
      accept();
    });
  }

  void read(std::shared_ptr<Connection> c) {
    c->ws.async_read(c->buffer, [this, c](boost::system::error_code ec, std::size_t) {
      if (ec) {
        log("closed " + std::to_string(c->number));
        std::erase(connections_, c);
        return;
      }
      auto frame = nlohmann::json::parse(boost::beast::buffers_to_string(c->buffer.data()), nullptr, false);
      c->buffer.consume(c->buffer.size());
      {
        std::lock_guard lock(mutex_);
        received_.push_back(frame);
      }
      read(c);
    });
  }

  void write(std::shared_ptr<Connection> c, std::string text) {
    c->outbox.push_back(std::move(text));
    if (c->writing) {
      return;
    }
    flush(c);
  }

  void flush(std::shared_ptr<Connection> c) {
    if (c->outbox.empty()) {
      c->writing = false;
      return;
    }
    c->writing = true;
    c->ws.text(true);
    c->ws.async_write(boost::asio::buffer(c->outbox.front()), [this, c](boost::system::error_code ec, std::size_t) {
      c->outbox.pop_front();
      if (ec) {
        c->writing = false;
        return;
      }
      flush(c);
    });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Connection>> connections_;  // io thread only
  mutable std::mutex mutex_;
  std::vector<nlohmann::json> received_;
  std::vector<std::string> events_;
  int accepted_ = 0;
  std::thread thread_;
};

}  // namespace opsgate::test
