#include <doctest/doctest.h>

#include <chrono>

#include "src/net/backoff.hpp"

namespace {

using namespace std::chrono_literals;
using opsgate::net::Backoff;

TEST_SUITE("net/backoff") {
  TEST_CASE("ceilings double from base and stop at the cap") {
    const Backoff backoff({100ms, 1000ms});
    CHECK(backoff.ceiling(0) == 100ms);
    CHECK(backoff.ceiling(1) == 200ms);
    CHECK(backoff.ceiling(3) == 800ms);
    CHECK(backoff.ceiling(4) == 1000ms);
    CHECK(backoff.ceiling(1000) == 1000ms);
    CHECK(backoff.ceiling(-5) == 100ms);
  }

  TEST_CASE("full jitter: the pause is the random fraction of the ceiling, never above it") {
    const Backoff backoff({100ms, 1000ms});
    CHECK(backoff.delay(0, 0.0) == 0ms);
    CHECK(backoff.delay(0, 0.5) == 50ms);
    CHECK(backoff.delay(2, 0.25) == 100ms);
    CHECK(backoff.delay(50, 0.999) <= 1000ms);
    CHECK(backoff.delay(50, 7.0) == 1000ms);  // a broken random source cannot exceed the cap
    CHECK(backoff.delay(50, -1.0) == 0ms);
  }

  TEST_CASE("next draws from the injected source, counts attempts and reset starts over") {
    Backoff backoff({100ms, 10s}, [] { return 0.5; });
    CHECK(backoff.next() == 50ms);
    CHECK(backoff.next() == 100ms);
    CHECK(backoff.next() == 200ms);
    CHECK(backoff.attempts() == 3);
    backoff.reset();
    CHECK(backoff.next() == 50ms);
  }

  TEST_CASE("a Retry-After hint lengthens the pause up to the cap, never past it") {
    Backoff backoff({100ms, 5s}, [] { return 0.0; });
    CHECK(backoff.next_at_least(2s) == 2s);
    CHECK(backoff.next_at_least(60s) == 5s);
    CHECK(backoff.next_at_least(0ms) == 0ms);
  }

  TEST_CASE("a cap below the base and a zero base are repaired, not divided by") {
    const Backoff backoff({0ms, 0ms});
    CHECK(backoff.ceiling(0) == 1ms);
    CHECK(backoff.ceiling(40) == 1ms);
    const Backoff huge({std::chrono::hours(24 * 365), std::chrono::hours(24 * 365 * 2)});
    CHECK(huge.ceiling(62) == std::chrono::hours(24 * 365 * 2));
  }
}

}  // namespace
