#pragma once
// The one retry pause policy: exponential backoff with full jitter
// (a pause drawn uniformly from [0, min(cap, base * 2^attempt)]), so that
// many clients failing together do not retry together. Used by HttpClient's
// retries and by every reconnect or redelivery loop (Slack Socket Mode, the
// Discord gateway, the gate callback outbox, `opsgate gate request`).
// A value type: each loop owns one; not shared between threads.

#include <chrono>
#include <functional>

namespace opsgate::net {

// Uniform in [0, 1). Tests inject a fixed one.
using UnitRandom = std::function<double()>;

// A thread-local PRNG seeded from std::random_device.
double default_unit_random();

struct BackoffPolicy {
  std::chrono::milliseconds base{200};  // the ceiling of the first pause
  std::chrono::milliseconds cap{30000};  // no pause is longer
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, UnitRandom random = {});

  // The ceiling for pause number `attempt` (0-based): min(cap, base * 2^attempt).
  std::chrono::milliseconds ceiling(int attempt) const;
  // Pause number `attempt` for a given `unit_random` in [0, 1): full jitter.
  std::chrono::milliseconds delay(int attempt, double unit_random) const;
  // The next pause (drawn from the random source), counting attempts.
  std::chrono::milliseconds next();
  // The next pause, at least `hint` (a server's Retry-After), at most the cap.
  std::chrono::milliseconds next_at_least(std::chrono::milliseconds hint);
  // After a success: the next failure starts again from `base`.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  UnitRandom random_;
  int attempt_ = 0;
};

}  // namespace opsgate::net
