#include "policies/rbac_policy.hpp"

#include <algorithm>
#include <set>

#include "policies/glob.hpp"

namespace opsgate::policies {

namespace {

constexpr const char* kOwned = "owned";

bool any_glob(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, value); });
}

bool listed(const std::vector<std::string>& items, std::string_view value) {
  return items.empty() || std::find(items.begin(), items.end(), value) != items.end();
}

std::string param_string(const ActionRequest& request, const char* name) {
  const auto it = request.params.find(name);
  return it != request.params.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Help and identity reveal nothing; votes and cancels are authorised by the
// approval workflow itself (re-checked against the policy at vote time).
bool always_allowed(std::string_view action) {
  return action == "help" || action == "whoami" || action == "approvals.list" || action == "approve" ||
         action == "deny" || action == "cancel";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

std::unordered_set<std::string> RbacPolicy::group_set(const Principal& principal) const {
  std::unordered_set<std::string> groups;
  if (auto it = member_groups_.find(principal.id); it != member_groups_.end()) {
    groups.insert(it->second.begin(), it->second.end());
  }
  for (const auto& [pattern, names] : glob_members_) {
    if (glob_match(pattern, principal.id)) {
      groups.insert(names.begin(), names.end());
    }
  }
  for (const auto& vouched : principal.groups) {
    if (auto it = platform_groups_.find(vouched); it != platform_groups_.end()) {
      groups.insert(it->second.begin(), it->second.end());
    }
  }
  return groups;
}

bool RbacPolicy::in_subjects(const std::vector<std::string>& subjects, const Principal& principal,
                             const std::unordered_set<std::string>& groups) const {
  for (const auto& s : subjects) {
    if (s.rfind("group:", 0) == 0) {
      if (groups.count(s.substr(6)) > 0) return true;
      continue;
    }
    if (s.rfind("role:", 0) == 0) {
      const std::string role = s.substr(5);
      for (const auto& [binding_subjects, binding_roles] : bindings_) {
        if (std::find(binding_roles.begin(), binding_roles.end(), role) != binding_roles.end() &&
            in_subjects(binding_subjects, principal, groups)) {
          return true;
        }
      }
      continue;
    }
    if (glob_match(s, principal.id)) return true;
    // A platform-vouched group (slack:usergroup:S1, discord:role:1, teams:group:x).
    if (std::find(principal.groups.begin(), principal.groups.end(), s) != principal.groups.end()) return true;
  }
  return false;
}

std::vector<std::string> RbacPolicy::groups_of(const Principal& principal) const {
  const auto set = group_set(principal);
  std::vector<std::string> out(set.begin(), set.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> RbacPolicy::roles_of(const Principal& principal) const {
  const auto groups = group_set(principal);
  std::set<std::string> roles;
  for (const auto& [subjects, names] : bindings_) {
    if (in_subjects(subjects, principal, groups)) roles.insert(names.begin(), names.end());
  }
  return {roles.begin(), roles.end()};
}

Decision RbacPolicy::evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                              const RequestContext& context) const {
  Decision d;
  if (always_allowed(spec.name)) {
    d.effect = Effect::allow;
    d.rule_ids = {"builtin:meta"};
    d.explanation = "allowed: " + spec.name + " is open to everyone";
    return d;
  }
  const std::string env = param_string(request, "env");
  const std::string target = param_string(request, "target");
  const Target* target_info = target.empty() ? nullptr : inventory_->find_target(target);
  const std::string team = target_info != nullptr ? target_info->team : std::string{};
  const std::string kind(to_string(spec.kind));
  const auto groups = group_set(principal);

  // Which roles grant it?
  bool granted = false;
  bool can_break_glass = false;
  std::vector<std::string> granting;
  for (const auto& [subjects, names] : bindings_) {
    if (!in_subjects(subjects, principal, groups)) continue;
    for (const auto& name : names) {
      const Role& role = roles_.at(name);
      if (!any_glob(role.actions, spec.name)) continue;
      if (!role.envs.empty() && (env.empty() || !listed(role.envs, env))) continue;
      if (!role.targets.empty()) {
        const bool owned = listed(role.targets, kOwned) && !team.empty() && groups.count(team) > 0;
        if (!owned && (target.empty() || std::find(role.targets.begin(), role.targets.end(), target) == role.targets.end())) {
          continue;
        }
      }
      granted = true;
      can_break_glass = can_break_glass || role.break_glass;
      granting.push_back("role:" + name);
    }
  }

  const bool wants_break_glass = !request.break_glass_reason.empty();
  const Rule* deny = nullptr;
  const Rule* approval = nullptr;
  const Rule* allow = nullptr;
  static const std::vector<std::size_t> kNoRules;
  const auto indexed = rules_by_action_.find(spec.name);
  for (const std::size_t index : indexed == rules_by_action_.end() ? kNoRules : indexed->second) {
    const Rule& rule = rules_[index];
    if (!rule.envs.empty() && (env.empty() || !listed(rule.envs, env))) continue;
    if (!rule.targets.empty() && (target.empty() || !listed(rule.targets, target))) continue;
    if (!rule.teams.empty() && (team.empty() || !listed(rule.teams, team))) continue;
    if (!listed(rule.channels, context.channel)) continue;
    if (!listed(rule.platforms, context.platform)) continue;
    if (!rule.subjects.empty() && !in_subjects(rule.subjects, principal, groups)) continue;
    if (rule.window && !rule.window->contains(context.now)) continue;
    if (wants_break_glass && can_break_glass && rule.break_glass_overrides) {
      d.rule_ids.push_back(rule.id + "(overridden by break-glass)");
      continue;
    }
    d.rule_ids.push_back(rule.id);
    if (rule.effect == RuleEffect::deny && deny == nullptr) deny = &rule;
    if (rule.effect == RuleEffect::require_approval && approval == nullptr) approval = &rule;
    if (rule.effect == RuleEffect::allow && allow == nullptr) allow = &rule;
  }
  for (const auto& g : granting) d.rule_ids.push_back(g);

  for (const auto& limit : rate_limits_) {
    if (std::find(limit.actions.begin(), limit.actions.end(), spec.name) == limit.actions.end()) continue;
    RateLimitCheck check{limit.id, limit.actions, limit.per, {}, limit.limit, limit.window};
    if (limit.per == "target") {
      if (target.empty()) continue;
      check.targets = {target};
    } else if (limit.per == "team") {
      if (team.empty()) continue;
      for (const auto& t : inventory_->targets()) {
        if (t.team == team) check.targets.push_back(t.name);
      }
    }
    d.rate_limits.push_back(std::move(check));
  }

  const std::string what = principal.id + " " + spec.name + (target.empty() ? "" : " " + target) +
                           (env.empty() ? "" : " in " + env);
  if (deny != nullptr) {
    d.effect = Effect::deny;
    d.explanation = "denied: rule " + deny->id + " (" + (deny->message.empty() ? deny->description : deny->message) + ")";
    return d;
  }
  if (!granted && allow == nullptr) {
    d.effect = Effect::deny;
    d.explanation = "denied: no role grants " + what + " (deny by default)";
    return d;
  }
  if (wants_break_glass) {
    if (!can_break_glass) {
      d.effect = Effect::deny;
      d.explanation = "denied: break-glass is not granted to " + principal.id + "; ask without it to go through approval";
      return d;
    }
    d.effect = Effect::allow;
    d.break_glass = true;
    d.explanation = "BREAK-GLASS by " + principal.id + ": " + request.break_glass_reason;
    return d;
  }
  if (approval != nullptr) {
    d.effect = Effect::needs_approval;
    d.approval = approval->approval;
    d.explanation = "needs approval: rule " + approval->id + " (" +
                    (approval->description.empty() ? "approval required" : approval->description) + ") — " +
                    std::to_string(approval->approval.quorum) + " of " + join(approval->approval.approvers);
    return d;
  }
  d.effect = Effect::allow;
  d.explanation = "allowed: " + (granting.empty() ? "rule " + allow->id : join(granting));
  return d;
}

std::string RbacPolicy::person_of(std::string_view principal_id) const {
  const auto it = person_by_principal_.find(std::string(principal_id));
  return it == person_by_principal_.end() ? std::string(principal_id) : it->second;
}

std::string RbacPolicy::describe(const Principal& principal) const {
  const auto groups = groups_of(principal);
  const auto roles = roles_of(principal);
  std::string person;
  if (const auto it = person_by_principal_.find(principal.id); it != person_by_principal_.end()) {
    person = "person " + it->second + " (" + join(principals_of_.at(it->second)) + "); ";
  }
  return person + "policy groups: " + (groups.empty() ? std::string("none") : join(groups)) +
         "; roles: " + (roles.empty() ? std::string("none (only help and whoami)") : join(roles));
}

bool RbacPolicy::may_approve(const Principal& principal, const ApprovalRequirement& requirement) const {
  return in_subjects(requirement.approvers, principal, group_set(principal));
}

namespace {

std::vector<std::string> checked_actions(const ConfigNode& node, const std::string& key) {
  auto actions = node.strings_or(key);
  for (const auto& a : actions) {
    const bool known = std::any_of(action_catalogue().begin(), action_catalogue().end(),
                                   [&](const ActionSpec& s) { return glob_match(a, s.name); });
    if (!known) {
      node.fail(key, "'" + a + "' matches no action in the catalogue (e.g. restart, metrics.*, rollout.deploy)");
    }
  }
  return actions;
}

std::vector<std::string> checked_envs(const ConfigNode& node, const std::string& key, const Inventory& inv) {
  auto envs = node.strings_or(key);
  for (const auto& e : envs) {
    const Environment* known = inv.find_env(e);
    if (known == nullptr) {
      node.fail(key, "'" + e + "' is not an environment of the inventory");
    }
    if (known->name != e) {
      node.fail(key, "write the environment's name '" + known->name + "', not the synonym '" + e + "'");
    }
  }
  return envs;
}

std::vector<std::string> checked_targets(const ConfigNode& node, const std::string& key, const Inventory& inv,
                                         bool allow_owned) {
  auto targets = node.strings_or(key);
  for (const auto& t : targets) {
    if (allow_owned && t == kOwned) continue;
    if (inv.find_target(t) == nullptr || inv.find_target(t)->name != t) {
      node.fail(key, "'" + t + "' is not a target name of the inventory" + (allow_owned ? " (or `owned`)" : ""));
    }
  }
  return targets;
}

ApprovalRequirement parse_approval(const ConfigNode& node, const std::string& rule_id,
                                   const std::set<std::string>& groups, const std::set<std::string>& roles) {
  ApprovalRequirement a;
  a.rule_id = rule_id;
  a.approvers = node.strings_or("approvers");
  if (a.approvers.empty()) {
    node.fail("approvers", "require_approval needs approvers, e.g. [group:sre]");
  }
  for (const auto& s : a.approvers) {
    if (s.rfind("group:", 0) == 0 && groups.count(s.substr(6)) == 0) node.fail("approvers", "unknown group in '" + s + "'");
    if (s.rfind("role:", 0) == 0 && roles.count(s.substr(5)) == 0) node.fail("approvers", "unknown role in '" + s + "'");
  }
  a.quorum = static_cast<int>(node.integer_or("quorum", 1, 1, 10));
  a.expiry = node.duration_or("expiry", std::chrono::minutes(60));
  if (a.expiry > std::chrono::hours(24 * 7)) {
    node.fail("expiry", "at most 7d: an approval is for a request made now");
  }
  if (node.has("self_approval")) {
    if (node.boolean_or("self_approval", false)) {
      node.fail("self_approval", "cannot be true: the requester never counts toward their own approval");
    }
  }
  return a;
}

}  // namespace

std::shared_ptr<const RbacPolicy> load_rbac_policy(const ConfigNode& root, std::shared_ptr<const Inventory> inventory) {
  auto policy = std::make_shared<RbacPolicy>();
  policy->source_ = root.file();
  policy->inventory_ = inventory;
  const Inventory& inv = *inventory;

  // people: one person's principals on each platform, e.g.
  //   bob: [slack:T1:U0BOB, shell:bob]
  if (auto people = root.optional_child("people")) {
    for (const auto& [person, node] : people->entries()) {
      const auto principals = people->strings_or(person);
      if (principals.empty()) {
        people->fail(person, "list the principals that are " + person + "'s, e.g. [slack:T1:U0BOB, shell:bob]");
      }
      for (const auto& principal : principals) {
        if (principal.find(':') == std::string::npos || principal.find('*') != std::string::npos) {
          people->fail(person, "'" + principal + "' is not a principal: write platform:id, e.g. shell:bob or slack:T1:U2");
        }
        const auto [it, added] = policy->person_by_principal_.emplace(principal, person);
        if (!added && it->second != person) {
          people->fail(person, "'" + principal + "' is listed under " + it->second + " and " + person +
                                   "; a principal belongs to one person");
        }
      }
      policy->principals_of_[person] = principals;
    }
  }
  std::set<std::string> group_names;
  if (auto groups = root.optional_child("groups")) {
    for (const auto& [name, node] : groups->entries()) {
      group_names.insert(name);
      for (const auto& member : node.strings_or("members")) {
        if (member.find(':') == std::string::npos) {
          node.fail("members", "'" + member + "' is not a principal: write platform:id, e.g. shell:alice or slack:T1:U2");
        }
        if (member.find('*') != std::string::npos) {
          policy->glob_members_.push_back({member, {name}});
        } else {
          policy->member_groups_[member].push_back(name);
        }
      }
      for (const auto& pg : node.strings_or("platform_groups")) {
        policy->platform_groups_[pg].push_back(name);
      }
      node.finish();
    }
  }
  std::set<std::string> role_names;
  const ConfigNode roles = root.child("roles");
  for (const auto& [name, node] : roles.entries()) {
    Role role;
    role.name = name;
    role.actions = checked_actions(node, "actions");
    if (role.actions.empty()) node.fail("actions", "a role grants at least one action");
    role.envs = checked_envs(node, "envs", inv);
    role.targets = checked_targets(node, "targets", inv, true);
    role.break_glass = node.boolean_or("break_glass", false);
    node.finish();
    role_names.insert(name);
    policy->roles_.emplace(name, std::move(role));
  }
  auto check_subjects = [&](const ConfigNode& node, const std::string& key) {
    auto subjects = node.strings_or(key);
    for (const auto& s : subjects) {
      if (s.rfind("group:", 0) == 0 && group_names.count(s.substr(6)) == 0) node.fail(key, "unknown group in '" + s + "'");
      if (s.rfind("role:", 0) == 0 && role_names.count(s.substr(5)) == 0) node.fail(key, "unknown role in '" + s + "'");
      if (s.find(':') == std::string::npos && s != "*") {
        node.fail(key, "'" + s + "' is not a subject: write platform:id, group:NAME, role:NAME or a platform group");
      }
    }
    return subjects;
  };
  if (auto bindings = root.optional_child("bindings")) {
    for (const auto& node : bindings->items()) {
      auto subjects = check_subjects(node, "subjects");
      auto names = node.strings_or("roles");
      if (subjects.empty() || names.empty()) node.fail_here("a binding needs subjects and roles");
      for (const auto& n : names) {
        if (role_names.count(n) == 0) node.fail("roles", "unknown role '" + n + "'");
      }
      node.finish();
      policy->bindings_.emplace_back(std::move(subjects), std::move(names));
    }
  }
  std::set<std::string> rule_ids;
  if (auto rules = root.optional_child("rules")) {
    for (const auto& node : rules->items()) {
      Rule rule;
      rule.id = node.str("id");
      if (!rule_ids.insert(rule.id).second) node.fail("id", "rule id '" + rule.id + "' is used twice");
      rule.description = node.str_or("description", "");
      rule.message = node.str_or("message", "");
      if (auto match = node.optional_child("match")) {
        rule.actions = checked_actions(*match, "actions");
        rule.kinds = match->strings_or("kinds");
        for (const auto& k : rule.kinds) {
          if (k != "read" && k != "write" && k != "meta") match->fail("kinds", "expected read, write or meta, got '" + k + "'");
        }
        rule.envs = checked_envs(*match, "envs", inv);
        rule.targets = checked_targets(*match, "targets", inv, false);
        rule.teams = match->strings_or("teams");
        rule.channels = match->strings_or("channels");
        rule.platforms = match->strings_or("platforms");
        rule.subjects = check_subjects(*match, "subjects");
        match->finish();
      }
      if (auto window = node.optional_child("window")) {
        const std::string zone_name = window->str_or("timezone", "UTC");
        auto zone = TimeZone::load(zone_name);
        if (!zone) window->fail("timezone", "unknown time zone '" + zone_name + "': " + zone.error().message);
        std::string error;
        rule.window = TimeWindow::parse(window->str("from"), window->str("to"), *zone, error);
        if (!rule.window) window->fail("from", error);
        window->finish();
      }
      const std::string effect = node.str("effect");
      if (effect == "allow") {
        rule.effect = RuleEffect::allow;
      } else if (effect == "deny") {
        rule.effect = RuleEffect::deny;
      } else if (effect == "require_approval") {
        rule.effect = RuleEffect::require_approval;
        rule.approval = parse_approval(node, rule.id, group_names, role_names);
      } else {
        node.fail("effect", "expected allow, deny or require_approval, got '" + effect + "'");
      }
      if (rule.effect != RuleEffect::require_approval) {
        for (const char* key : {"approvers", "quorum", "expiry", "self_approval"}) {
          if (node.has(key)) node.fail(key, std::string("only a require_approval rule takes ") + key);
        }
      }
      rule.break_glass_overrides = node.boolean_or("break_glass_overrides", false);
      node.finish();
      policy->rules_.push_back(std::move(rule));
    }
  }
  for (const auto& spec : action_catalogue()) {
    auto& list = policy->rules_by_action_[spec.name];
    for (std::size_t i = 0; i < policy->rules_.size(); ++i) {
      const Rule& rule = policy->rules_[i];
      if ((rule.actions.empty() || any_glob(rule.actions, spec.name)) && listed(rule.kinds, to_string(spec.kind))) {
        list.push_back(i);
      }
    }
  }
  if (auto limits = root.optional_child("rate_limits")) {
    for (const auto& node : limits->items()) {
      RateLimit limit;
      limit.id = node.str("id");
      for (const auto& pattern : checked_actions(node, "actions")) {
        for (const auto& spec : action_catalogue()) {
          if (glob_match(pattern, spec.name)) limit.actions.push_back(spec.name);
        }
      }
      if (limit.actions.empty()) node.fail("actions", "list the actions this limit counts");
      limit.per = node.str_or("per", "subject");
      if (limit.per != "subject" && limit.per != "target" && limit.per != "team") {
        node.fail("per", "expected subject, target or team");
      }
      limit.limit = static_cast<int>(node.integer_or("limit", 0, 1, 100000));
      if (limit.limit == 0) node.fail("limit", "is required (a whole number of requests per window)");
      limit.window = node.duration_or("window", std::chrono::hours(1));
      node.finish();
      policy->rate_limits_.push_back(std::move(limit));
    }
  }
  root.finish();
  return policy;
}

}  // namespace opsgate::policies
