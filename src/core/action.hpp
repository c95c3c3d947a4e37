#pragma once
// Extension point: one whitelisted action against one backend. Actions never
// check policy and never write audit records: the pipeline does both.

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/action_request.hpp"
#include "src/core/action_result.hpp"
#include "src/core/error.hpp"

namespace opsgate {

// What a write would change, found out without changing anything (for
// Kubernetes: the same PATCH with dryRun=All, compared with the live object).
// The approval is bound to `fingerprint`: when it differs at vote time, the
// live object changed and the vote starts over.
struct ActionPreview {
  std::string text;         // "image registry.example/cart:3.1.0 → registry.example/cart:3.2.0"
  std::string fingerprint;  // canonical, stable: what would change (not timestamps)
  bool nothing_to_do = false;  // e.g. "already at revision 4": answered, no approval asked
  nlohmann::json data = nlohmann::json::object();
};

// How a write went once the backend settled (for Kubernetes: the rollout
// followed to completion, failure or the follow timeout).
struct FollowOutcome {
  bool ok = false;
  std::string summary;  // "cart rolled out in 42 s (3/3 available)"
  nlohmann::json data = nlohmann::json::object();
  std::vector<Suggestion> suggestions;  // e.g. a rollback on failure
};

class Action {
 public:
  virtual ~Action() = default;
  virtual const ActionSpec& spec() const = 0;
  // The request has been validated against spec() and the inventory.
  virtual boost::asio::awaitable<Result<ActionResult>> execute(ActionRequest request) = 0;
  // What execute() would change; nullopt when this action cannot tell.
  virtual boost::asio::awaitable<Result<std::optional<ActionPreview>>> preview(ActionRequest /*request*/) {
    co_return std::optional<ActionPreview>{};
  }
  // After a successful execute(): waits for the change to settle and says how
  // it went; nullopt when there is nothing to follow. Bounded by the action.
  virtual boost::asio::awaitable<std::optional<FollowOutcome>> follow(ActionRequest /*request*/,
                                                                      ActionResult /*result*/) {
    co_return std::optional<FollowOutcome>{};
  }
};

}  // namespace opsgate
