#include <doctest/doctest.h>

#include "src/core/request_id.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

TEST_SUITE("request_id") {
  TEST_CASE("ids are 16 lowercase hex characters, strictly increasing, never repeated, even across threads") {
    // Far more than one millisecond's worth: ids made in the same millisecond
    // still increase (the audit index appends, and no two requests share one).
    std::vector<std::string> ids;
    for (int i = 0; i < 20000; ++i) {
      ids.push_back(opsgate::new_request_id());
    }
    for (const auto& id : ids) {
      REQUIRE(id.size() == 16);
      CHECK(std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
    }
    CHECK(std::is_sorted(ids.begin(), ids.end()));
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());

    std::vector<std::string> other;
    std::thread maker([&other] {
      for (int i = 0; i < 5000; ++i) {
        other.push_back(opsgate::new_request_id());
      }
    });
    std::vector<std::string> mine;
    for (int i = 0; i < 5000; ++i) {
      mine.push_back(opsgate::new_request_id());
    }
    maker.join();
    CHECK(std::is_sorted(other.begin(), other.end()));
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    std::set<std::string> all(ids.begin(), ids.end());
    all.insert(other.begin(), other.end());
    all.insert(mine.begin(), mine.end());
    CHECK(all.size() == ids.size() + other.size() + mine.size());
    CHECK(*all.begin() == ids.front());  // later ids sort after earlier ones
  }

  TEST_CASE("the leading digits are the time in milliseconds") {
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string id = opsgate::new_request_id();
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    const auto ms = static_cast<long long>(std::stoull(id, nullptr, 16) >> 22);
    // A process that made ids faster than one per 2^-22 ms could run ahead; this one has not.
    CHECK(ms >= before);
    CHECK(ms <= after + 1);
  }
}
