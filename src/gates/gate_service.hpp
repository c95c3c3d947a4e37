#pragma once
// Deployment gates (DESIGN.md §1, specs/cicd-gates.md): a pipeline's request
// is decided by the same policy as a chat `rollout.deploy` (requester
// ci:<client>), becomes an approval in the same store with the same votes
// and audit events, is posted in the target's channel, and its outcome is
// delivered to the pipeline through a stored, retried callback. Owned by the
// daemon; create/get/cancel/decided from any strand; run() is one long task
// on the daemon's executor.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "src/core/action_registry.hpp"
#include "src/core/adapter.hpp"
#include "src/core/approval_service.hpp"
#include "src/core/approval_workflow.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/clock.hpp"
#include "src/core/inventory.hpp"
#include "src/core/policy_engine.hpp"
#include "src/gates/gate.hpp"
#include "src/gates/gate_store.hpp"
#include "src/gates/gates_config.hpp"
#include "src/net/backoff.hpp"

namespace opsgate::gates {

// What one attempt to tell a pipeline came to.
struct DeliveryOutcome {
  enum class Kind { done, retry, terminal };
  Kind kind = Kind::retry;
  std::string detail;                       // for the audit log and the thread; never a secret
  std::chrono::seconds retry_after{0};      // 0: the backoff decides
};

// Tells one kind of pipeline (callback_kind) a gate's outcome. Any strand.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual std::string_view kind() const = 0;
  // How long the platform's context stays usable after the gate was created.
  virtual std::chrono::seconds lifetime() const { return std::chrono::hours(24 * 30); }
  virtual boost::asio::awaitable<DeliveryOutcome> deliver(Gate gate, nlohmann::json gate_json) = 0;
};

// One pipeline's ask, from the generic API or a platform webhook.
struct GateAsk {
  std::string client;     // config name; the requester is ci:<client>
  std::string source;     // api, github, azure, gitlab
  std::string dedup_key;  // Idempotency-Key or the platform's run key
  GateRequest request;
  std::string callback_kind;
  nlohmann::json callback = nlohmann::json::object();
  // The API refuses a triggered_by it cannot link; platform webhooks show it unlinked.
  bool require_known_trigger = true;
  std::int64_t max_timeout_s = 0;  // a platform's own limit (Azure: 48 h token), 0: none
};

struct Created {
  Gate gate;
  bool created = false;  // false: the same run asked before (idempotent)
};

struct GateServiceDeps {
  GateStore& store;
  ApprovalService& approvals;
  RateLimiter& limiter;
  AuditLog& audit;
  const Clock& clock;
  std::function<std::shared_ptr<const PolicyEngine>()> policy;
  std::shared_ptr<const Inventory> inventory;
  const ActionRegistry& actions;
  std::function<Adapter*(std::string_view platform)> adapters;
  // The pipeline's expiry pass (Pipeline::expire_approvals): tells the threads.
  std::function<boost::asio::awaitable<void>()> expire_approvals;
  // Jitter of the callback redelivery backoff (net::Backoff); empty: a PRNG. Tests fix it.
  net::UnitRandom random = {};
};

class GateService final : public ApprovalOwner {
 public:
  GateService(GatesConfig config, GateServiceDeps deps, boost::asio::any_io_executor executor);

  void add_notifier(std::unique_ptr<Notifier> notifier);
  const GatesConfig& config() const { return config_; }

  // Errc::invalid_input (unknown target/env/triggered_by, missing version),
  // Errc::conflict (same key, other body), Errc::storage (audit or store down).
  boost::asio::awaitable<Result<Created>> create(GateAsk ask);
  boost::asio::awaitable<Result<Gate>> get(std::string id);
  boost::asio::awaitable<Result<Gate>> by_key(std::string client, std::string dedup_key);
  // The pipeline was aborted. Errc::conflict when already decided.
  boost::asio::awaitable<Result<Gate>> cancel(std::string id);
  // The gate as the API shows it (approvals read from the approval store).
  boost::asio::awaitable<nlohmann::json> to_json(Gate gate);

  boost::asio::awaitable<std::optional<std::string>> decided(std::string approval_id, std::string outcome,
                                                             std::string detail) override;

  // Announces, reconciles, expires and delivers until cancelled; wakes every
  // `tick` or at kick().
  boost::asio::awaitable<void> run();
  void kick();
  // One pass of run() (tests drive it with a fake clock).
  boost::asio::awaitable<void> tick();

 private:
  boost::asio::awaitable<void> announce(Gate gate);
  boost::asio::awaitable<std::string> context_text(const Gate& gate);
  // The first line of a read action's answer (rollout.status, metrics.query), bounded by context_timeout.
  boost::asio::awaitable<std::optional<std::string>> read_summary(std::string name, nlohmann::json params);
  boost::asio::awaitable<std::optional<Gate>> decide(Gate gate, GateState state, std::string by, std::string comment);
  boost::asio::awaitable<void> deliver_due();
  boost::asio::awaitable<void> tell_thread(Gate gate, std::string text, std::string outcome);
  boost::asio::awaitable<bool> record(const Gate& gate, std::string kind, std::string outcome, std::string detail);
  std::int64_t now_ms() const;

  GatesConfig config_;
  GateServiceDeps deps_;
  boost::asio::steady_timer wake_;
  std::map<std::string, std::unique_ptr<Notifier>, std::less<>> notifiers_;
  std::set<std::string> warned_;  // gates whose posting failure was logged (once each); run()'s strand only
};

// The expiry comment every platform gets (specs §0.2).
std::string expiry_comment(const Gate& gate);

}  // namespace opsgate::gates
