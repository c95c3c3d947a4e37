#pragma once
// Small hand-written fakes for pipeline tests: an in-memory audit log that can
// be told to fail, an adapter that records replies, an action that counts runs.

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/action.hpp"
#include "src/core/adapter.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/policy_engine.hpp"
#include "tests/support/fixed_clock.hpp"

namespace opsgate::test {

class MemoryAuditLog final : public AuditLog {
 public:
  boost::asio::awaitable<Result<std::int64_t>> append(AuditEvent event) override {
    if (fail_kind == event.kind || fail_kind == "*") {
      co_return fail(Errc::storage, "disk full (test)");
    }
    event.seq = static_cast<std::int64_t>(events.size()) + 1;
    events.push_back(event);
    co_return event.seq;
  }
  // All or nothing, like one transaction.
  boost::asio::awaitable<Result<std::int64_t>> append_all(std::vector<AuditEvent> unit,
                                                          std::function<void()> queued) override {
    if (queued) {
      queued();
    }
    for (const auto& event : unit) {
      if (fail_kind == event.kind || fail_kind == "*") {
        co_return fail(Errc::storage, "disk full (test)");
      }
    }
    for (auto& event : unit) {
      event.seq = static_cast<std::int64_t>(events.size()) + 1;
      events.push_back(std::move(event));
    }
    ++commits;
    co_return events.back().seq;
  }
  void append_later(AuditEvent event) override {
    if (fail_kind == event.kind || fail_kind == "*") {
      return;
    }
    event.seq = static_cast<std::int64_t>(events.size()) + 1;
    events.push_back(std::move(event));
  }
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.kind);
    return out;
  }
  const AuditEvent* find(const std::string& kind) const {
    for (const auto& e : events) {
      if (e.kind == kind) return &e;
    }
    return nullptr;
  }
  std::vector<AuditEvent> events;
  std::string fail_kind;  // "started", "*", or empty
  int commits = 0;        // append_all() calls that succeeded
};

class RecordingAdapter final : public Adapter {
 public:
  explicit RecordingAdapter(std::string platform_name = "test") : platform_(std::move(platform_name)) {}
  std::string_view platform() const override { return platform_; }
  boost::asio::awaitable<void> run(EventSink&) override { co_return; }
  boost::asio::awaitable<void> send(OutboundMessage message) override {
    sent.push_back(std::move(message));
    co_return;
  }
  std::vector<OutboundMessage> sent;

 private:
  std::string platform_;
};

// Runs for `delay` then answers `summary` (or the error, when set).
class CountingAction final : public Action {
 public:
  CountingAction(std::string name, std::string summary_text) : name_(std::move(name)), summary_(std::move(summary_text)) {}
  const ActionSpec& spec() const override { return *find_action(name_); }
  boost::asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    ++runs;
    last = request;
    if (delay.count() > 0) {
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
    if (error) {
      co_return tl::unexpected(*error);
    }
    ActionResult result;
    result.summary = summary_;
    co_return result;
  }
  int runs = 0;
  ActionRequest last;
  std::chrono::milliseconds delay{0};
  std::optional<Error> error;

 private:
  std::string name_;
  std::string summary_;
};

// Allows everything for "test:alice", denies everyone else.
class AliceOnlyPolicy final : public PolicyEngine {
 public:
  Decision evaluate(const Principal& principal, const ActionSpec&, const ActionRequest&,
                    const RequestContext&) const override {
    Decision d;
    d.effect = principal.id == "test:alice" ? Effect::allow : Effect::deny;
    d.rule_ids = {"alice-only"};
    d.explanation = d.effect == Effect::allow ? "allowed: rule alice-only" : "denied: only alice (test)";
    return d;
  }
  bool may_approve(const Principal&, const ApprovalRequirement&) const override { return false; }
  std::string describe(const Principal&) const override { return "test policy"; }
};

}  // namespace opsgate::test
