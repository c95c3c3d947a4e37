#include "policies/rbac_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "policies/glob.hpp"
#include "src/core/text.hpp"
#include <fmt/format.h>

namespace opsgate::policies {

namespace {

constexpr const char* kOwned = "owned";

bool any_glob(const std::vector<std::string>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return glob_match(p, value); });
}

bool listed(const std::vector<std::string>& items, std::string_view value) {
  return items.empty() || std::find(items.begin(), items.end(), value) != items.end();
}

// The parameter's text in place (empty when absent or not a string).
std::string_view param_view(const ActionRequest& request, const char* name) {
  const auto it = request.params.find(name);
  if (it == request.params.end() || !it->is_string()) {
    return {};
  }
  return it->get_ref<const std::string&>();
}

// Help and identity reveal nothing; votes and cancels are authorised by the
// approval workflow itself (re-checked against the policy at vote time).
bool always_allowed(std::string_view action) {
  return action == "help" || action == "whoami" || action == "approvals.list" || action == "approve" ||
         action == "deny" || action == "cancel";
}

std::string join(const std::vector<std::string>& items) {
  return fmt::to_string(fmt::join(items, ", "));
}

}  // namespace

RbacPolicy::Subjects RbacPolicy::compile_subjects(const std::vector<std::string>& subjects) const {
  Subjects out;
  for (const auto& s : subjects) {
    if (s.rfind("group:", 0) == 0) {
      if (const auto it = group_id_.find(std::string_view(s).substr(6)); it != group_id_.end()) {
        out.groups.push_back(it->second);
      }
    } else if (s.rfind("role:", 0) == 0) {
      out.roles.push_back(s.substr(5));
    } else if (s.find('*') != std::string::npos) {
      out.globs.push_back(s);
    } else {
      out.exact.push_back(s);  // a principal id, or a platform group the principal carries
    }
  }
  std::sort(out.groups.begin(), out.groups.end());
  std::sort(out.exact.begin(), out.exact.end());
  return out;
}

RbacPolicy::GroupIds RbacPolicy::group_ids(const Principal& principal) const {
  GroupIds groups;
  if (auto it = member_groups_.find(principal.id); it != member_groups_.end()) {
    groups.insert(groups.end(), it->second.begin(), it->second.end());
  }
  for (const auto& [pattern, ids] : glob_members_) {
    if (glob_match(pattern, principal.id)) {
      groups.insert(groups.end(), ids.begin(), ids.end());
    }
  }
  for (const auto& vouched : principal.groups) {
    if (auto it = platform_groups_.find(vouched); it != platform_groups_.end()) {
      groups.insert(groups.end(), it->second.begin(), it->second.end());
    }
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return groups;
}

bool RbacPolicy::matches(const Subjects& subjects, const Principal& principal, const GroupIds& groups) const {
  for (const std::uint32_t g : subjects.groups) {
    if (std::binary_search(groups.begin(), groups.end(), g)) return true;
  }
  if (!subjects.exact.empty()) {
    auto exact = [&](std::string_view value) {
      const auto it = std::lower_bound(subjects.exact.begin(), subjects.exact.end(), value,
                                       [](const std::string& a, std::string_view b) { return a < b; });
      return it != subjects.exact.end() && *it == value;
    };
    if (exact(principal.id)) return true;
    // A platform-vouched group (slack:usergroup:S1, discord:role:1, teams:group:x).
    for (const auto& vouched : principal.groups) {
      if (exact(vouched)) return true;
    }
  }
  for (const auto& glob : subjects.globs) {
    if (glob_match(glob, principal.id)) return true;
    if (std::find(principal.groups.begin(), principal.groups.end(), glob) != principal.groups.end()) return true;
  }
  for (const auto& role : subjects.roles) {
    for (const auto& binding : bindings_) {
      if (std::find(binding.role_names.begin(), binding.role_names.end(), role) != binding.role_names.end() &&
          matches(binding.subjects, principal, groups)) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string> RbacPolicy::groups_of(const Principal& principal) const {
  std::vector<std::string> out;
  for (const std::uint32_t g : group_ids(principal)) {
    out.push_back(group_names_[g]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> RbacPolicy::roles_of(const Principal& principal) const {
  const auto groups = group_ids(principal);
  std::set<std::string> roles;
  for (const auto& binding : bindings_) {
    if (matches(binding.subjects, principal, groups)) roles.insert(binding.role_names.begin(), binding.role_names.end());
  }
  return {roles.begin(), roles.end()};
}

// The hot path: lookups in indexes built at load, no allocation until the
// Decision's own strings are written.
Decision RbacPolicy::evaluate(const Principal& principal, const ActionSpec& spec, const ActionRequest& request,
                              const RequestContext& context) const {
  Decision d;
  if (always_allowed(spec.name)) {
    d.effect = Effect::allow;
    d.rule_ids = {"builtin:meta"};
    d.explanation = "allowed: " + spec.name + " is open to everyone";
    return d;
  }
  const std::string_view env = param_view(request, "env");
  const std::string_view target = param_view(request, "target");
  const Target* target_info = target.empty() ? nullptr : find_target(target);
  const std::string_view team = target_info != nullptr ? std::string_view(target_info->team) : std::string_view{};
  const auto groups = group_ids(principal);
  bool in_team = false;
  if (!team.empty()) {
    const auto it = group_id_.find(team);
    in_team = it != group_id_.end() && std::binary_search(groups.begin(), groups.end(), it->second);
  }

  // Which roles grant it? Only the bindings this principal can match, in file order.
  boost::container::small_vector<std::uint32_t, 32> candidates;
  if (auto it = bindings_by_exact_.find(principal.id); it != bindings_by_exact_.end()) {
    candidates.insert(candidates.end(), it->second.begin(), it->second.end());
  }
  for (const auto& vouched : principal.groups) {
    if (auto it = bindings_by_exact_.find(vouched); it != bindings_by_exact_.end()) {
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
    }
  }
  for (const std::uint32_t g : groups) {
    candidates.insert(candidates.end(), bindings_by_group_[g].begin(), bindings_by_group_[g].end());
  }
  candidates.insert(candidates.end(), bindings_checked_always_.begin(), bindings_checked_always_.end());
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());

  bool granted = false;
  bool can_break_glass = false;
  boost::container::small_vector<const Role*, 8> granting;
  for (const std::uint32_t b : candidates) {
    const Binding& binding = bindings_[b];
    if (!matches(binding.subjects, principal, groups)) continue;
    for (const Role* role : binding.roles) {
      if (!any_glob(role->actions, spec.name)) continue;
      if (!role->envs.empty() && (env.empty() || !listed(role->envs, env))) continue;
      if (!role->targets.empty()) {
        const bool owned = listed(role->targets, kOwned) && in_team;
        if (!owned && (target.empty() || std::find(role->targets.begin(), role->targets.end(), target) == role->targets.end())) {
          continue;
        }
      }
      granted = true;
      can_break_glass = can_break_glass || role->break_glass;
      granting.push_back(role);
    }
  }

  const bool wants_break_glass = !request.break_glass_reason.empty();
  const Rule* deny = nullptr;
  const Rule* approval = nullptr;
  const Rule* allow = nullptr;
  auto consider = [&](std::uint32_t index) {
    const Rule& rule = rules_[index];
    if (!rule.envs.empty() && (env.empty() || !listed(rule.envs, env))) return;
    if (!rule.targets.empty() && (target.empty() || !listed(rule.targets, target))) return;
    if (!rule.teams.empty() && (team.empty() || !listed(rule.teams, team))) return;
    if (!listed(rule.channels, context.channel)) return;
    if (!listed(rule.platforms, context.platform)) return;
    if (!rule.subjects.empty() && !matches(rule_subjects_[index], principal, groups)) return;
    if (rule.window && !rule.window->contains(context.now)) return;
    if (wants_break_glass && can_break_glass && rule.break_glass_overrides) {
      d.rule_ids.push_back(rule.id + "(overridden by break-glass)");
      return;
    }
    d.rule_ids.push_back(rule.id);
    if (rule.effect == RuleEffect::deny && deny == nullptr) deny = &rule;
    if (rule.effect == RuleEffect::require_approval && approval == nullptr) approval = &rule;
    if (rule.effect == RuleEffect::allow && allow == nullptr) allow = &rule;
  };
  if (const auto indexed = rules_by_action_.find(spec.name); indexed != rules_by_action_.end()) {
    const auto slot_at = env_slot_.find(env);
    const RuleSlot& slot = indexed->second[slot_at == env_slot_.end() ? indexed->second.size() - 1 : slot_at->second];
    static const std::vector<std::uint32_t> kNone;
    const auto named = target.empty() ? slot.by_target.end() : slot.by_target.find(target);
    const std::vector<std::uint32_t>& by_target = named == slot.by_target.end() ? kNone : named->second;
    // Both lists are in file order: merge them so rules are seen in file order.
    auto a = slot.any_target.begin();
    auto b = by_target.begin();
    while (a != slot.any_target.end() || b != by_target.end()) {
      if (b == by_target.end() || (a != slot.any_target.end() && *a < *b)) {
        consider(*a++);
      } else {
        consider(*b++);
      }
    }
  }
  for (const Role* role : granting) d.rule_ids.push_back("role:" + role->name);

  for (const auto& limit : rate_limits_) {
    if (std::find(limit.actions.begin(), limit.actions.end(), spec.name) == limit.actions.end()) continue;
    RateLimitCheck check{limit.id, limit.actions, limit.per, {}, limit.limit, limit.window};
    if (limit.per == "target") {
      if (target.empty()) continue;
      check.targets = {std::string(target)};
    } else if (limit.per == "team") {
      if (team.empty()) continue;
      for (const auto& t : inventory_->targets()) {
        if (t.team == team) check.targets.push_back(t.name);
      }
    }
    d.rate_limits.push_back(std::move(check));
  }

  if (deny != nullptr) {
    d.effect = Effect::deny;
    d.explanation = "denied: rule " + deny->id + " (" + (deny->message.empty() ? deny->description : deny->message) + ")";
    return d;
  }
  if (!granted && allow == nullptr) {
    const std::string what = principal.id + " " + spec.name + (target.empty() ? "" : " " + std::string(target)) +
                             (env.empty() ? "" : " in " + std::string(env));
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
  std::string roles;
  for (const Role* role : granting) roles += (roles.empty() ? "role:" : ", role:") + role->name;
  d.explanation = "allowed: " + (granting.empty() ? "rule " + allow->id : roles);
  return d;
}

const Target* RbacPolicy::find_target(std::string_view name_or_alias) const {
  // Inventory::find_target compares lower-cased; lower-case into a buffer on
  // the stack, and leave rare long names to the inventory.
  std::array<char, 128> lower{};
  if (name_or_alias.size() > lower.size()) {
    return inventory_->find_target(name_or_alias);
  }
  for (std::size_t i = 0; i < name_or_alias.size(); ++i) {
    lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name_or_alias[i])));
  }
  const auto it = target_by_lower_name_.find(std::string_view(lower.data(), name_or_alias.size()));
  return it == target_by_lower_name_.end() ? nullptr : it->second;
}

void RbacPolicy::build_indexes() {
  for (const auto& target : inventory_->targets()) {
    target_by_lower_name_.emplace(text::to_lower(target.name), &target);
    for (const auto& alias : target.aliases) {
      target_by_lower_name_.emplace(text::to_lower(alias), &target);
    }
  }
  const std::vector<std::string> envs = inventory_->env_names();
  for (std::size_t e = 0; e < envs.size(); ++e) {
    env_slot_.emplace(envs[e], e);
  }
  bindings_by_group_.assign(group_names_.size(), {});
  for (std::uint32_t b = 0; b < bindings_.size(); ++b) {
    Binding& binding = bindings_[b];
    binding.subjects = compile_subjects(binding.subject_text);
    for (const auto& name : binding.role_names) {
      binding.roles.push_back(&roles_.at(name));
    }
    for (const std::uint32_t g : binding.subjects.groups) bindings_by_group_[g].push_back(b);
    for (const auto& exact : binding.subjects.exact) bindings_by_exact_[exact].push_back(b);
    if (!binding.subjects.globs.empty() || !binding.subjects.roles.empty()) bindings_checked_always_.push_back(b);
  }
  for (const auto& rule : rules_) {
    rule_subjects_.push_back(compile_subjects(rule.subjects));
  }
  for (const auto& spec : action_catalogue()) {
    auto& slots = rules_by_action_[spec.name];
    slots.resize(envs.size() + 1);
    for (std::uint32_t i = 0; i < rules_.size(); ++i) {
      const Rule& rule = rules_[i];
      if (!((rule.actions.empty() || any_glob(rule.actions, spec.name)) && listed(rule.kinds, to_string(spec.kind)))) {
        continue;
      }
      for (std::size_t e = 0; e <= envs.size(); ++e) {
        const bool env_matches = rule.envs.empty() || (e < envs.size() && listed(rule.envs, envs[e]));
        if (!env_matches) continue;
        if (rule.targets.empty()) {
          slots[e].any_target.push_back(i);
        } else {
          for (const auto& t : rule.targets) {
            auto& list = slots[e].by_target[t];
            if (list.empty() || list.back() != i) list.push_back(i);
          }
        }
      }
    }
  }
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
  return matches(compile_subjects(requirement.approvers), principal, group_ids(principal));
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
      const auto [id_at, added] =
          policy->group_id_.emplace(name, static_cast<std::uint32_t>(policy->group_names_.size()));
      if (added) {
        policy->group_names_.push_back(name);
      }
      const std::uint32_t id = id_at->second;
      for (const auto& member : node.strings_or("members")) {
        if (member.find(':') == std::string::npos) {
          node.fail("members", "'" + member + "' is not a principal: write platform:id, e.g. shell:alice or slack:T1:U2");
        }
        if (member.find('*') != std::string::npos) {
          policy->glob_members_.push_back({member, {id}});
        } else {
          policy->member_groups_[member].push_back(id);
        }
      }
      for (const auto& pg : node.strings_or("platform_groups")) {
        policy->platform_groups_[pg].push_back(id);
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
      RbacPolicy::Binding binding;
      binding.subject_text = std::move(subjects);
      binding.role_names = std::move(names);
      policy->bindings_.push_back(std::move(binding));
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
  policy->build_indexes();
  return policy;
}

}  // namespace opsgate::policies
