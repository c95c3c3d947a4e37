#pragma once
// Fakes for tests that assemble the real pipeline: a policy that allows
// everything (so the test is about what happens after the decision) and an
// adapter that records what it sends and opens a new thread per post(), as
// Slack does. Header-only; no clock here, so it combines with any stand-in.

#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/adapter.hpp"
#include "src/core/policy_engine.hpp"

namespace opsgate::test {

class AllowAllPolicy final : public PolicyEngine {
 public:
  Decision evaluate(const Principal&, const ActionSpec&, const ActionRequest&, const RequestContext&) const override {
    Decision d;
    d.effect = Effect::allow;
    d.rule_ids = {"allow-all"};
    d.explanation = "allowed: rule allow-all (test)";
    return d;
  }
  bool may_approve(const Principal&, const ApprovalRequirement&) const override { return false; }
  std::string describe(const Principal&) const override { return "test policy"; }
};

class ThreadingAdapter final : public Adapter {
 public:
  std::string_view platform() const override { return "test"; }
  boost::asio::awaitable<void> run(EventSink&) override { co_return; }
  boost::asio::awaitable<void> send(OutboundMessage message) override {
    sent.push_back(std::move(message));
    co_return;
  }
  boost::asio::awaitable<Result<std::string>> post(OutboundMessage message) override {
    posted.push_back(std::move(message));
    co_return "thread-" + std::to_string(posted.size());
  }
  std::vector<OutboundMessage> posted;
  std::vector<OutboundMessage> sent;
};

}  // namespace opsgate::test
