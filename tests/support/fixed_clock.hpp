#pragma once
// The suite's one FixedClock (two different classes of that name in one test
// binary broke the one-definition rule): a Clock that says what the test
// tells it. Tests move it by assigning or adding to `at`, from the test's
// thread, between the calls that read it.

#include <chrono>
#include <cstdint>

#include "src/core/clock.hpp"

namespace opsgate::test {

inline std::chrono::system_clock::time_point unix_seconds(std::int64_t s) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(s));
}

class FixedClock final : public Clock {
 public:
  static constexpr std::int64_t kDefaultUnixSeconds = 1764000000;  // 2025-11-24T16:00:00Z

  explicit FixedClock(std::chrono::system_clock::time_point t = unix_seconds(kDefaultUnixSeconds)) : at(t) {}
  std::chrono::system_clock::time_point now() const override { return at; }

  std::chrono::system_clock::time_point at;
};

}  // namespace opsgate::test
