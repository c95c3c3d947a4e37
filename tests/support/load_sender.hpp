#pragma once
// Many requests to one loopback port, over `lanes` keep-alive connections at
// once (each a thread), for tests that flood opsgate on purpose (memory
// bounds). Bounded: every request gives up after its connection's timeout.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_test_client.hpp"

namespace opsgate::test {

// Sends request_bytes(i) for i in [first, first + count); returns how many were answered 200.
inline int send_many(std::uint16_t port, int first, int count, const std::function<std::string(int)>& request_bytes,
                     int lanes = 1) {
  std::atomic<int> ok{0};
  std::atomic<int> next{first};
  const auto lane = [&] {
    auto connection = std::make_unique<HttpTestConnection>(port, std::chrono::seconds(10));
    for (int i = next++; i < first + count; i = next++) {
      const std::string request = request_bytes(i);
      std::optional<TestResponse> response;
      if (connection->send(request)) {
        response = connection->read_response();
      }
      if (!response) {
        connection = std::make_unique<HttpTestConnection>(port, std::chrono::seconds(10));
        continue;
      }
      ok += response->status == 200 ? 1 : 0;
    }
  };
  std::vector<std::thread> threads;
  for (int l = 1; l < lanes; ++l) {
    threads.emplace_back(lane);
  }
  lane();
  for (auto& t : threads) {
    t.join();
  }
  return ok;
}

}  // namespace opsgate::test
