#pragma once
// The daemon's configuration after validation: an immutable snapshot. Core
// reads the generic parts (storage, inventory, intent); the sections that
// belong to extensions (server, adapters, actions, policy) are kept as
// ConfigNodes and validated by their own factories at start-up.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"

namespace opsgate {

struct IntentConfig {
  std::vector<std::string> parsers{"command"};  // cascade order
  double min_confidence = 0.6;                  // below it the cascade moves on
  // The `intent` section, when written: src/app's parser table checks the
  // names and fails here, naming file:line.
  std::optional<ConfigNode> node;
};

// storage.postgres: the shared database of several replicas (issue #21).
struct PostgresStorage {
  Secret dsn;                    // libpq connection string or URI; {env: ...}/{file: ...}
  std::size_t pool_size = 4;     // reader connections (the writer has one more of its own)
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds statement_timeout{30};  // a hung database fails a write instead of blocking it
  // storage.postgres.leader_lease: the lease that picks the one replica for
  // leader-only work (Discord gateway, gate timers); see LeadershipOptions.
  std::chrono::seconds lease_ttl{15};
  std::chrono::seconds lease_safety_margin{5};
};

enum class StorageBackend { sqlite, postgres };

struct Config {
  std::string source;        // file path, or "<embedded config/demo.yaml>"
  std::string storage_path;  // the SQLite file: audit log, approvals, dedup
  StorageBackend storage_backend = StorageBackend::sqlite;
  std::optional<PostgresStorage> postgres;  // set when storage_backend is postgres
  std::shared_ptr<const Inventory> inventory;
  IntentConfig intent;
  std::chrono::seconds action_timeout{60};
  std::string log_level = "info";

  // Extension sections, validated by their factories.
  std::optional<ConfigNode> server;
  std::optional<ConfigNode> adapters;
  std::optional<ConfigNode> actions;  // without the generic `timeout` key
  std::optional<ConfigNode> policy;
  std::optional<ConfigNode> alertmanager;  // POST /alertmanager (src/alertmanager/alert_webhook.hpp)
  std::optional<ConfigNode> gates;    // deployment gates (src/gates/gates_config.hpp)
  std::optional<ConfigNode> llm;      // connections, prompt, prices, budgets (src/intent/llm_config)
};

// Reads and validates everything core owns; throws ConfigError naming
// file:line: key on the first problem.
Config load_config(const ConfigNode& root);

// Parses one target's settings for every environment (exposed for tests).
Inventory load_inventory(const ConfigNode& root);

}  // namespace opsgate
