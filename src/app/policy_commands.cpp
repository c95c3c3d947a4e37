#include "src/app/policy_commands.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "policies/rbac_policy.hpp"
#include "src/app/components.hpp"
#include "src/core/action_catalogue.hpp"
#include "src/core/rfc3339.hpp"

namespace opsgate::app {

namespace {

using nlohmann::json;

json decision_json(const Decision& d) {
  json j{{"effect", to_string(d.effect)}, {"rule_ids", d.rule_ids}, {"explanation", d.explanation},
         {"break_glass", d.break_glass}};
  if (d.effect == Effect::needs_approval) {
    j["approval"] = {{"rule", d.approval.rule_id},
                     {"approvers", d.approval.approvers},
                     {"quorum", d.approval.quorum},
                     {"expiry_s", d.approval.expiry.count()}};
  }
  json limits = json::array();
  for (const auto& l : d.rate_limits) {
    limits.push_back({{"id", l.id}, {"per", l.per}, {"limit", l.limit}, {"window_s", l.window.count()}});
  }
  j["rate_limits"] = limits;
  return j;
}

struct Evaluated {
  std::optional<Decision> decision;
  std::string error;
};

Evaluated evaluate(const Config& config, const PolicyEngine& policy, const Principal& principal,
                   const std::string& action, const json& params, const std::string& break_glass,
                   const RequestContext& context) {
  ActionRequest raw(action, params, break_glass);
  auto request = validate_request(raw, *config.inventory);
  if (!request) {
    return {std::nullopt, "invalid request: " + request.error().question};
  }
  return {policy.evaluate(principal, *find_action(request->action), *request, context), ""};
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text) {
  const auto unix_s = parse_rfc3339_s(text, Rfc3339Options{.seconds_optional = true});
  if (!unix_s) {
    return std::nullopt;
  }
  return std::chrono::system_clock::time_point(std::chrono::seconds(*unix_s));
}

int run_policy_check(const Config& config, const PolicyCheckOptions& options) {
  if (options.user.empty() || options.action.empty()) {
    std::fprintf(stderr, "opsgate: policy check needs --user ID and --action NAME\n");
    return 2;
  }
  json params = json::object();
  std::string break_glass;
  for (const auto& kv : options.params) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "opsgate: --param takes key=value, not '%s'\n", kv.c_str());
      return 2;
    }
    const std::string key = kv.substr(0, eq);
    const std::string value = kv.substr(eq + 1);
    if (key == "break_glass") {
      break_glass = value;
    } else {
      params[key] = value;
    }
  }
  RequestContext context{options.platform, options.channel, std::chrono::system_clock::now()};
  if (options.at) {
    auto t = parse_rfc3339(*options.at);
    if (!t) {
      std::fprintf(stderr, "opsgate: --at takes an RFC 3339 time such as 2026-11-27T17:00:00+01:00\n");
      return 2;
    }
    context.now = *t;
  }
  const auto policy = build_policy(config);
  const Principal principal{options.user, "", options.groups};
  const Evaluated e = evaluate(config, *policy, principal, options.action, params, break_glass, context);
  if (!e.decision) {
    std::fprintf(stderr, "opsgate: %s\n", e.error.c_str());
    return 1;
  }
  std::cout << decision_json(*e.decision).dump(2) << "\n";
  return 0;
}

int run_policy_test(const Config& config, const std::string& tests_path) {
  const ConfigNode root = ConfigNode::load_file(tests_path);
  // `policy: FILE` (relative to the test file) tests that policy against the
  // config's inventory instead of the config's own policy.
  std::shared_ptr<const PolicyEngine> policy;
  if (root.has("policy")) {
    const std::filesystem::path file = std::filesystem::path(tests_path).parent_path() / root.str("policy");
    if (!std::filesystem::exists(file)) {
      root.fail("policy", "no policy file at " + file.string() + " (the path is relative to the test file)");
    }
    policy = policies::load_rbac_policy(ConfigNode::load_file(file.string()), config.inventory);
  } else {
    policy = build_policy(config);
  }
  int passed = 0;
  int failed = 0;
  for (const auto& c : root.child("cases").items()) {
    const std::string name = c.str_or("name", c.path());
    const Principal principal{c.str("user"), "", c.strings_or("groups")};
    const std::string action = c.str("action");
    json params = json::object();
    if (auto p = c.optional_child("params")) {
      for (const auto& [key, value] : p->entries()) {
        params[key] = value.as_string();
      }
    }
    RequestContext context{c.str_or("platform", ""), c.str_or("channel", ""), std::chrono::system_clock::now()};
    if (c.has("at")) {
      auto t = parse_rfc3339(c.str("at"));
      if (!t) c.fail("at", "expected an RFC 3339 time such as 2026-11-27T17:00:00+01:00");
      context.now = *t;
    }
    const std::string expect = c.str("expect");
    if (expect != "allow" && expect != "deny" && expect != "needs_approval") {
      c.fail("expect", "expected allow, deny or needs_approval");
    }
    const std::string break_glass = c.str_or("break_glass", "");
    const std::string approver = c.str_or("approver", "");  // must be able to approve it
    const std::string not_approver = c.str_or("not_approver", "");
    const std::string person = c.str_or("person", "");  // the person `user` belongs to (people:)
    c.finish();
    // The requester never counts toward their own approval, from any of their identities.
    const auto same_person = [&](const std::string& other) {
      return policy->person_of(other) == policy->person_of(principal.id);
    };

    const Evaluated e = evaluate(config, *policy, principal, action, params, break_glass, context);
    std::string problem;
    if (!e.decision) {
      problem = e.error;
    } else if (to_string(e.decision->effect) != expect) {
      problem = "expected " + expect + ", got " + std::string(to_string(e.decision->effect)) + " (" +
                e.decision->explanation + ")";
    } else if (!approver.empty() && (same_person(approver) ||
                                     !policy->may_approve(Principal{approver, "", {}}, e.decision->approval))) {
      problem = approver + " should be able to approve it but cannot";
    } else if (!not_approver.empty() && !same_person(not_approver) &&
               policy->may_approve(Principal{not_approver, "", {}}, e.decision->approval)) {
      problem = not_approver + " should not be able to approve it but can";
    } else if (!person.empty() && policy->person_of(principal.id) != person) {
      problem = principal.id + " should be " + person + "'s but is " + policy->person_of(principal.id) + "'s";
    }
    if (problem.empty()) {
      ++passed;
      std::cout << "ok    " << name << "\n";
    } else {
      ++failed;
      std::cout << "FAIL  " << name << ": " << problem << "\n";
    }
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace opsgate::app
