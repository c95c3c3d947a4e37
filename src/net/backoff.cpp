#include "src/net/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace opsgate::net {

double default_unit_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

Backoff::Backoff(BackoffPolicy policy, UnitRandom random) : policy_(policy), random_(std::move(random)) {
  policy_.base = std::max(policy_.base, std::chrono::milliseconds(1));
  policy_.cap = std::max(policy_.cap, policy_.base);
}

std::chrono::milliseconds Backoff::ceiling(int attempt) const {
  // 2^30 ms is 12 days: any cap is reached long before the shift overflows.
  const int exponent = std::clamp(attempt, 0, 30);
  const auto base = policy_.base.count();
  const auto cap = policy_.cap.count();
  if (base > (cap >> exponent)) {
    return policy_.cap;
  }
  return std::chrono::milliseconds(std::min(cap, base << exponent));
}

std::chrono::milliseconds Backoff::delay(int attempt, double unit_random) const {
  const double unit = std::clamp(unit_random, 0.0, 1.0);
  const auto top = ceiling(attempt).count();
  return std::chrono::milliseconds(std::min<std::chrono::milliseconds::rep>(
      top, static_cast<std::chrono::milliseconds::rep>(std::llround(static_cast<double>(top) * unit))));
}

std::chrono::milliseconds Backoff::next() {
  const double unit = random_ ? random_() : default_unit_random();
  const auto pause = delay(attempt_, unit);
  if (attempt_ < 30) {
    ++attempt_;
  }
  return pause;
}

std::chrono::milliseconds Backoff::next_at_least(std::chrono::milliseconds hint) {
  return std::min(std::max(next(), hint), policy_.cap);
}

}  // namespace opsgate::net
