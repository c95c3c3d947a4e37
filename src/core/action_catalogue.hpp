#pragma once
// The whitelisted actions (DESIGN.md §3) and the parameter schema that every
// parser's output is validated against. Nothing outside this list can run.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "src/core/action_request.hpp"
#include "src/core/inventory.hpp"

namespace opsgate {

enum class ParamType {
  target,    // a target from the inventory (aliases resolved to the name)
  env,       // an environment from the inventory (synonyms resolved)
  metric,    // one of kMetrics
  level,     // one of kLevels
  duration,  // integer seconds (range_s)
  integer,   // bounded integer
  version,   // an image tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
  text,      // free text, bounded, no control characters
  id,        // an approval id: [A-Za-z0-9-]{1,32}
};

enum class ActionKind { read, write, meta };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::text;
  bool required = false;
  std::int64_t min = 0;  // integers and durations: bounds; text: max length in max
  std::int64_t max = 0;
  std::optional<nlohmann::json> default_value;  // filled in when absent
};

struct ActionSpec {
  std::string name;         // canonical: "metrics.query"
  ActionKind kind = ActionKind::read;
  bool privileged = false;  // policies usually keep it to SREs (metrics.promql)
  std::vector<ParamSpec> params;
  std::string verb;         // command verb: "metrics" for !metrics
  std::string usage;        // one line: "!metrics <target> <metric> [range] [env]"
  std::string summary;      // for help

  const ParamSpec* param(std::string_view param_name) const;
};

inline const std::vector<std::string> kMetrics{"error_rate", "latency_p99", "latency_p50", "rps",
                                               "cpu", "memory", "restarts"};
inline const std::vector<std::string> kLevels{"error", "warn", "info"};

const std::vector<ActionSpec>& action_catalogue();
const ActionSpec* find_action(std::string_view name);
std::string_view to_string(ActionKind kind);

// "restart cart in prod", "scale checkout replicas=5 in prod": for messages.
std::string describe(const ActionRequest& request);

// Why a request could not be accepted, phrased as a question for the user.
struct ValidationFailure {
  std::string question;
  std::vector<std::string> options;
};

// Checks a parser's output against the schema and the inventory, resolves
// aliases and synonyms to canonical names, fills defaults (reads get the
// default environment; writes never do), and refuses unknown parameters.
tl::expected<ActionRequest, ValidationFailure> validate_request(const ActionRequest& request,
                                                                const Inventory& inventory);

}  // namespace opsgate
