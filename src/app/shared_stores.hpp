#pragma once
// The stores the daemon opens beside the audit log, approvals and replays —
// alert threads, deployment gates, LLM spending, the leader lease — and its
// database probe, on whichever backend the config names: one call per
// backend, so the daemon's start-up names the backend once. Owned by the
// daemon; built once at start-up.

#include <functional>
#include <memory>
#include <string>

#include "src/alertmanager/alert_thread_store.hpp"
#include "src/core/error.hpp"
#include "src/core/leader_lease.hpp"
#include "src/core/llm_usage_log.hpp"
#include "src/gates/gate_store.hpp"

namespace opsgate::store {
class PgStore;
class SqliteStore;
}  // namespace opsgate::store

namespace opsgate::app {

struct SharedStores {
  std::string where;  // the file, or host:port/dbname: for logs and /readyz
  std::shared_ptr<alertmanager::AlertThreadStore> alert_threads;
  std::unique_ptr<LlmUsageLog> llm_usage;
  std::unique_ptr<LeaderLease> lease;
  std::function<Result<void>()> ping;  // blocking: DatabaseHealth calls it on its worker
  std::function<Result<std::unique_ptr<gates::GateStore>>()> open_gates;
};

SharedStores shared_stores(std::shared_ptr<store::SqliteStore> database);
SharedStores shared_stores(std::shared_ptr<store::PgStore> database);

}  // namespace opsgate::app
