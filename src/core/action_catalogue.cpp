#include "src/core/action_catalogue.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <regex>

#include "src/core/duration.hpp"

namespace opsgate {

namespace {

using nlohmann::json;

constexpr std::int64_t kDefaultRange = 3600;
constexpr std::int64_t kMaxRange = 30LL * 86400;

ParamSpec target(bool required = true) { return {"target", ParamType::target, required, 0, 0, std::nullopt}; }
ParamSpec env_param(bool required) { return {"env", ParamType::env, required, 0, 0, std::nullopt}; }
ParamSpec range() { return {"range_s", ParamType::duration, false, 1, kMaxRange, json(kDefaultRange)}; }
ParamSpec id_param() { return {"id", ParamType::id, true, 0, 0, std::nullopt}; }

std::vector<ActionSpec> build_catalogue() {
  std::vector<ActionSpec> c;
  c.push_back({"metrics.query", ActionKind::read, false,
               {target(), env_param(false), {"metric", ParamType::metric, true, 0, 0, std::nullopt}, range()},
               "metrics", "!metrics <target> <metric> [range] [env]",
               "a named metric of a target: error_rate, latency_p99, latency_p50, rps, cpu, memory, restarts"});
  c.push_back({"metrics.promql", ActionKind::read, true,
               {{"query", ParamType::text, true, 1, 2000, std::nullopt}, range()},
               "promql", "!promql <PromQL expression>", "a raw PromQL query (privileged)"});
  c.push_back({"logs.search", ActionKind::read, false,
               {target(), env_param(false), {"contains", ParamType::text, false, 1, 200, std::nullopt},
                {"level", ParamType::level, false, 0, 0, std::nullopt}, range(),
                {"limit", ParamType::integer, false, 1, 500, json(20)}},
               "logs", "!logs <target> [env] [contains=TEXT] [level=error|warn|info] [range=30m] [limit=N]",
               "search a target's logs"});
  c.push_back({"alerts.list", ActionKind::read, false, {target(false), env_param(false)}, "alerts",
               "!alerts [target] [env]", "firing alerts"});
  c.push_back({"triage", ActionKind::read, false, {target(), env_param(false), range()}, "triage",
               "!triage <target> [env] [range]", "look at a target's signals, logs and alerts"});
  c.push_back({"rollout.status", ActionKind::read, false, {target(), env_param(false)}, "status",
               "!status <target> [env]", "rollout status and running version"});
  c.push_back({"restart", ActionKind::write, false, {target(), env_param(true)}, "restart",
               "!restart <target> <env>", "rolling restart of a target"});
  c.push_back({"scale", ActionKind::write, false,
               {target(), env_param(true), {"replicas", ParamType::integer, true, 0, 100, std::nullopt}}, "scale",
               "!scale <target> <replicas> <env>", "set a target's replica count"});
  c.push_back({"rollout.deploy", ActionKind::write, false,
               {target(), env_param(true), {"version", ParamType::version, true, 0, 0, std::nullopt}}, "deploy",
               "!deploy <target> <version> <env>", "deploy a version (image tag)"});
  c.push_back({"rollout.undo", ActionKind::write, false,
               {target(), env_param(true), {"revision", ParamType::integer, false, 1, 1000000000, std::nullopt}},
               "rollback", "!rollback <target> <env> [revision]", "roll back to the previous or a given revision"});
  c.push_back({"help", ActionKind::meta, false, {}, "help", "!help", "what opsgate can do"});
  c.push_back({"whoami", ActionKind::meta, false, {}, "whoami", "!whoami", "who opsgate thinks you are"});
  c.push_back({"approvals.list", ActionKind::meta, false, {}, "approvals", "!approvals",
               "pending approvals and which you may approve"});
  c.push_back({"approve", ActionKind::meta, false, {id_param()}, "approve", "!approve <id>", "approve a request"});
  c.push_back({"deny", ActionKind::meta, false, {id_param(), {"reason", ParamType::text, false, 1, 300, std::nullopt}},
               "deny", "!deny <id> [reason]", "deny a request"});
  c.push_back({"cancel", ActionKind::meta, false, {id_param()}, "cancel", "!cancel <id>",
               "cancel your own pending request"});
  c.push_back({"audit.show", ActionKind::meta, false, {target(false)}, "audit", "!audit [target]",
               "recent audit events"});
  return c;
}

bool has_control_chars(const std::string& text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

tl::unexpected<ValidationFailure> ask(std::string question, std::vector<std::string> options = {}) {
  return tl::unexpected<ValidationFailure>(ValidationFailure{std::move(question), std::move(options)});
}

// Integers may arrive as JSON numbers or as digit strings (from an LLM or a form).
// A float is taken only when it is whole and well inside int64: casting 1e300,
// inf or NaN to an integer is undefined behaviour.
std::optional<std::int64_t> as_integer(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) {
    return value.get<std::int64_t>();
  }
  if (value.is_number_float()) {
    constexpr double kExactLimit = 9007199254740992.0;  // 2^53: every whole double below it is exact
    const double d = value.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= kExactLimit || d != std::trunc(d)) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(d);
  }
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })) {
      return std::nullopt;
    }
    return std::stoll(s);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::read: return "read";
    case ActionKind::write: return "write";
    case ActionKind::meta: return "meta";
  }
  return "meta";
}

const ParamSpec* ActionSpec::param(std::string_view param_name) const {
  for (const auto& p : params) {
    if (p.name == param_name) {
      return &p;
    }
  }
  return nullptr;
}

std::string describe(const ActionRequest& request) {
  std::string text = request.action;
  const auto& p = request.params;
  if (p.contains("target") && p["target"].is_string()) {
    text += " " + p["target"].get<std::string>();
  }
  for (const auto& [key, value] : p.items()) {
    if (key == "target" || key == "env") {
      continue;
    }
    text += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
  }
  if (p.contains("env") && p["env"].is_string()) {
    text += " in " + p["env"].get<std::string>();
  }
  return text;
}

const std::vector<ActionSpec>& action_catalogue() {
  static const std::vector<ActionSpec> catalogue = build_catalogue();
  return catalogue;
}

const ActionSpec* find_action(std::string_view name) {
  for (const auto& spec : action_catalogue()) {
    if (spec.name == name) {
      return &spec;
    }
  }
  return nullptr;
}

tl::expected<ActionRequest, ValidationFailure> validate_request(const ActionRequest& request,
                                                                const Inventory& inventory) {
  const ActionSpec* spec = find_action(request.action);
  if (spec == nullptr) {
    return ask("I do not know the action '" + request.action + "'. Try `help`.");
  }
  if (!request.params.is_object()) {
    return ask("The parameters of " + spec->name + " are not an object. Usage: " + spec->usage);
  }
  static const std::regex version_re("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
  static const std::regex id_re("^[A-Za-z0-9-]{1,32}$");

  ActionRequest out{spec->name, json::object(), request.break_glass_reason};
  if (!out.break_glass_reason.empty()) {
    if (spec->kind != ActionKind::write) {
      return ask("break_glass only applies to write actions.");
    }
    if (out.break_glass_reason.size() > 300 || has_control_chars(out.break_glass_reason)) {
      return ask("The break-glass reason must be 1 to 300 characters of text.");
    }
  }
  for (const auto& [key, value] : request.params.items()) {
    const ParamSpec* p = spec->param(key);
    if (p == nullptr) {
      return ask("`" + spec->name + "` has no parameter '" + key + "'. Usage: " + spec->usage);
    }
    if (value.is_null()) {
      continue;
    }
    switch (p->type) {
      case ParamType::target: {
        const Target* t = value.is_string() ? inventory.find_target(value.get<std::string>()) : nullptr;
        if (t == nullptr) {
          return ask("I do not know the target '" + (value.is_string() ? value.get<std::string>() : value.dump()) +
                         "'. Known targets: " + join(inventory.target_names(), ", ") + ".",
                     inventory.target_names());
        }
        out.params[key] = t->name;
        break;
      }
      case ParamType::env: {
        const Environment* e = value.is_string() ? inventory.find_env(value.get<std::string>()) : nullptr;
        if (e == nullptr) {
          return ask("I do not know the environment '" + (value.is_string() ? value.get<std::string>() : value.dump()) +
                         "'. Known environments: " + join(inventory.env_names(), ", ") + ".",
                     inventory.env_names());
        }
        out.params[key] = e->name;
        break;
      }
      case ParamType::metric:
      case ParamType::level: {
        const auto& allowed = p->type == ParamType::metric ? kMetrics : kLevels;
        const std::string v = value.is_string() ? to_lower(value.get<std::string>()) : std::string{};
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
          return ask("'" + (value.is_string() ? value.get<std::string>() : value.dump()) + "' is not a " + p->name +
                         ". Choose one of: " + join(allowed, ", ") + ".",
                     allowed);
        }
        out.params[key] = v;
        break;
      }
      case ParamType::duration: {
        std::optional<std::int64_t> seconds = as_integer(value);
        if (!seconds && value.is_string()) {
          seconds = parse_duration_seconds(value.get<std::string>());
        }
        if (!seconds || *seconds < p->min || *seconds > p->max) {
          return ask("'" + (value.is_string() ? value.get<std::string>() : value.dump()) +
                     "' is not a time range I can use: write it like 15m, 2h or 1d (at most " +
                     format_duration(p->max) + ").");
        }
        out.params[key] = *seconds;
        break;
      }
      case ParamType::integer: {
        const auto number = as_integer(value);
        if (!number || *number < p->min || *number > p->max) {
          return ask(p->name + " must be a whole number from " + std::to_string(p->min) + " to " +
                     std::to_string(p->max) + ", not '" + (value.is_string() ? value.get<std::string>() : value.dump()) +
                     "'.");
        }
        out.params[key] = *number;
        break;
      }
      case ParamType::version: {
        const std::string v = value.is_string() ? value.get<std::string>() : std::string{};
        if (!std::regex_match(v, version_re)) {
          return ask("'" + (value.is_string() ? v : value.dump()) +
                     "' is not a valid version: use an image tag such as v2.4.1 or 1.8.0.");
        }
        out.params[key] = v;
        break;
      }
      case ParamType::text: {
        if (!value.is_string()) {
          return ask(p->name + " must be text.");
        }
        const auto& v = value.get_ref<const std::string&>();
        if (v.empty() || static_cast<std::int64_t>(v.size()) > p->max || has_control_chars(v)) {
          return ask(p->name + " must be 1 to " + std::to_string(p->max) +
                     " characters of text without control characters.");
        }
        out.params[key] = v;
        break;
      }
      case ParamType::id: {
        const std::string v = value.is_string() ? value.get<std::string>()
                              : value.is_number_integer() ? std::to_string(value.get<std::int64_t>())
                                                          : std::string{};
        if (!std::regex_match(v, id_re)) {
          return ask("'" + value.dump() + "' is not an approval id. `approvals` lists the pending ones.");
        }
        out.params[key] = v;
        break;
      }
    }
  }

  for (const auto& p : spec->params) {
    if (out.params.contains(p.name)) {
      continue;
    }
    if (p.type == ParamType::env && spec->kind == ActionKind::read && p.name == "env" &&
        spec->name != "alerts.list" && !inventory.default_env().empty()) {
      out.params["env"] = inventory.default_env();
      continue;
    }
    if (p.default_value) {
      out.params[p.name] = *p.default_value;
      continue;
    }
    if (!p.required) {
      continue;
    }
    if (p.type == ParamType::env) {
      // A write never guesses its environment.
      const std::string what = out.params.contains("target") ? spec->verb + " " + out.params["target"].get<std::string>()
                                                              : spec->verb;
      return ask(what + " in " + join(inventory.env_names(), " or ") + "?", inventory.env_names());
    }
    if (p.type == ParamType::target) {
      return ask("Which target? Known targets: " + join(inventory.target_names(), ", ") + ". Usage: " + spec->usage,
                 inventory.target_names());
    }
    if (p.type == ParamType::metric) {
      return ask("Which metric? " + join(kMetrics, ", ") + ".", kMetrics);
    }
    return ask(spec->name + " needs " + p.name + ". Usage: " + spec->usage);
  }
  return out;
}

}  // namespace opsgate
