#pragma once
// A deployment gate (specs/cicd-gates.md §0, §4): a CI/CD pipeline asks
// whether it may deploy `version` of `target` to `env`; people decide in chat
// through the approval workflow. Plain data, copied freely.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate::gates {

// pending moves once to one of the four others; they never change again.
enum class GateState { pending, approved, rejected, expired, cancelled };

std::string_view to_string(GateState state);
std::optional<GateState> parse_gate_state(std::string_view text);

// What a pipeline asks. Only target, env and version are required.
struct GateRequest {
  std::string target;
  std::string env;
  std::string version;
  std::string commit;
  std::string change_url;
  std::string summary;
  std::string run_url;
  std::string triggered_by;  // the CI system's user name of who started the run
  std::int64_t timeout_s = 0;  // 0: the policy rule's expiry; else only shortens it
};

nlohmann::json request_json(const GateRequest& request);
GateRequest request_from_json(const nlohmann::json& j);

struct Gate {
  std::string id;         // "gt_" + 12 characters
  std::string client;     // the CI client's config name
  std::string source;     // api, github, azure, gitlab
  std::string dedup_key;  // Idempotency-Key, or the platform's key (run, plan/task, deployment)
  std::string body_hash;  // of the request: the same key with another body is a conflict
  GateRequest request;
  GateState state = GateState::pending;
  std::string requester;            // ci:<client>
  std::string triggered_principal;  // the linked principal of request.triggered_by, or empty
  std::int64_t created_ms = 0;
  std::int64_t expires_ms = 0;
  std::int64_t decided_ms = 0;
  std::string decided_by;
  std::string comment;
  std::string rule_id;
  std::vector<std::string> approvers;
  int quorum = 0;  // 0: decided by the policy without a vote
  std::string approval_id;  // the approval in the approval store, once asked
  std::string platform;     // where it was posted
  std::string channel;
  std::string thread;
  std::string callback_kind;  // "", webhook, github, azure, gitlab
  // The callback's context: callback URL, installation, Azure's AuthToken.
  // Holds secrets: never logged, never rendered into chat or the API.
  nlohmann::json callback = nlohmann::json::object();
};

inline bool is_terminal(GateState state) { return state != GateState::pending; }

// "2026-11-24T10:00:00Z"
std::string iso8601(std::int64_t ms);

// A new gate id: "gt_" and 12 characters of [0-9a-z] (time-ordered prefix).
std::string new_gate_id(std::int64_t now_ms);

}  // namespace opsgate::gates
