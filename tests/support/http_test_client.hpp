#pragma once
// A tiny blocking HTTP/1.1 client for tests: raw bytes over one loopback TCP
// connection, so tests can send malformed, partial or pipelined requests.
// Header-only because tests/CMakeLists.txt compiles only tests/<area>/*.cpp
// into each suite; every wait is bounded by the connection's timeout.

#include <array>
#include <cctype>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace opsgate::test {

struct TestResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Case-insensitive; "" when absent.
  std::string header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < key.size() && same; ++i) {
          same = std::tolower(static_cast<unsigned char>(key[i])) == std::tolower(static_cast<unsigned char>(name[i]));
        }
        if (same) {
          return value;
        }
      }
    }
    return "";
  }
};

// One connection to 127.0.0.1:port. Owned by one test; one thread.
// Every operation gives up after `timeout` and reports failure instead of hanging.
class HttpTestConnection {
 public:
  explicit HttpTestConnection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : socket_(io_), timeout_(timeout) {
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::address_v4::loopback(), port);
    boost::system::error_code result = boost::asio::error::timed_out;
    socket_.async_connect(endpoint, [&result](boost::system::error_code ec) { result = ec; });
    connected_ = run_bounded(timeout_) && !result;
  }

  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    boost::system::error_code result = boost::asio::error::timed_out;
    boost::asio::async_write(socket_, boost::asio::buffer(bytes.data(), bytes.size()),
                             [&result](boost::system::error_code ec, std::size_t) { result = ec; });
    return run_bounded(timeout_) && !result;
  }

  // Reads one final response (skipping 100 Continue); needs Content-Length, which
  // every opsgate response has. nullopt on timeout, close or garbage.
  std::optional<TestResponse> read_response() {
    for (;;) {
      auto response = read_one();
      if (!response || response->status >= 200) {
        return response;
      }
    }
  }

  // True if the server closes the connection (EOF or reset) within `limit`;
  // bytes that arrive meanwhile are kept for read_response().
  bool wait_closed(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      const auto ec = read_some(left);
      if (ec == boost::asio::error::timed_out) {
        return false;
      }
      if (ec) {
        return true;
      }
    }
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  // Runs the queued operation for at most `limit`; cancels it if it did not finish.
  bool run_bounded(std::chrono::milliseconds limit) {
    io_.restart();
    io_.run_for(limit);
    if (io_.stopped()) {
      return true;
    }
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    io_.restart();
    io_.run();  // a cancelled operation completes at once; its handler must run before its buffers go
    return false;
  }

  boost::system::error_code read_some(std::chrono::milliseconds limit) {
    std::array<char, 4096> chunk{};
    boost::system::error_code result = boost::asio::error::timed_out;
    std::size_t received = 0;
    socket_.async_read_some(boost::asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
      result = ec;
      received = n;
    });
    if (!run_bounded(limit)) {
      return boost::asio::error::timed_out;
    }
    buffer_.append(chunk.data(), received);
    return result;
  }

  std::optional<TestResponse> read_one() {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    auto left = [&deadline] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    };
    std::size_t header_end = std::string::npos;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (left().count() <= 0 || read_some(left())) {
        return std::nullopt;
      }
    }
    TestResponse response;
    const std::string head = buffer_.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
      return std::nullopt;
    }
    response.status = std::stoi(status_line.substr(9, 3));
    std::size_t content_length = 0;
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const auto colon = line.find(':');
      if (colon == std::string::npos) {
        continue;
      }
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.erase(0, 1);
      }
      response.headers.emplace_back(line.substr(0, colon), value);
    }
    const std::string length = response.header("Content-Length");
    if (!length.empty()) {
      content_length = static_cast<std::size_t>(std::stoull(length));
    }
    const std::size_t body_start = header_end + 4;
    while (buffer_.size() < body_start + content_length) {
      if (left().count() <= 0 || read_some(left())) {
        return std::nullopt;
      }
    }
    response.body = buffer_.substr(body_start, content_length);
    buffer_.erase(0, body_start + content_length);
    return response;
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::chrono::milliseconds timeout_;
  bool connected_ = false;
  std::string buffer_;
};

// The bytes of a request with Host and (when there is a body) Content-Length.
inline std::string make_request(std::string_view method, std::string_view target, std::string_view body = {},
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers) {
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  return out;
}

// One request on a fresh connection; nullopt if it could not connect, send or read in time.
inline std::optional<TestResponse> http_request(std::uint16_t port, std::string_view method, std::string_view target,
                                                std::string_view body = {},
                                                std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpTestConnection connection(port);
  if (!connection.connected()) {
    return std::nullopt;
  }
  headers.emplace_back("Connection", "close");
  if (!connection.send(make_request(method, target, body, std::move(headers)))) {
    return std::nullopt;
  }
  return connection.read_response();
}

// Whether GET /readyz answers 200 within 10 s (polled every 50 ms).
inline bool wait_until_ready(std::uint16_t port) {
  for (int i = 0; i < 200; ++i) {
    const auto response = http_request(port, "GET", "/readyz");
    if (response && response->status == 200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace opsgate::test
