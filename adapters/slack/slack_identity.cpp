#include "adapters/slack/slack_identity.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::adapters::slack {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr std::size_t kMaxRemembered = 10000;
}  // namespace

SlackIdentity::SlackIdentity(const SlackConfig& config, WebApi& api, std::shared_ptr<const Clock> clock)
    : config_(config), api_(api), clock_(std::move(clock)), users_(kMaxRemembered), usergroups_(kMaxRemembered) {}

asio::awaitable<std::string> SlackIdentity::display_name(std::string user) {
  const auto now = std::chrono::steady_clock::now();
  if (const auto* hit = users_.find(user); hit != nullptr && hit->expires > now) {
    co_return hit->value;
  }
  std::vector<std::pair<std::string, std::string>> args{{"user", user}};
  std::string method = "users.info";
  auto answer = co_await api_.call_form(std::move(method), std::move(args));
  if (!answer) {
    spdlog::warn("slack: no display name for {}: {}", user, answer.error().message);
    co_return std::string{};
  }
  const json& u = (*answer)["user"];
  std::string name;
  if (u.is_object()) {
    const json& profile = u.contains("profile") ? u["profile"] : json();
    if (profile.is_object() && profile.value("display_name", "") != "") {
      name = profile.value("display_name", "");
    } else if (u.value("real_name", "") != "") {
      name = u.value("real_name", "");
    } else {
      name = u.value("name", "");
    }
  }
  users_.put(user, Cached<std::string>{name, now + config_.user_ttl});
  co_return name;
}

asio::awaitable<std::vector<std::string>> SlackIdentity::groups_of(std::string user) {
  std::vector<std::string> groups;
  for (const auto& group : config_.usergroups) {
    const std::string id = group;
    auto members = co_await usergroup_members(id);
    if (std::find(members.begin(), members.end(), user) != members.end()) {
      groups.push_back("slack:usergroup:" + group);
    }
  }
  co_return groups;
}

asio::awaitable<std::vector<std::string>> SlackIdentity::usergroup_members(std::string group) {
  const auto now = clock_->now();
  const GroupMembers* known = usergroups_.find(group);
  if (known != nullptr && now - known->fetched < config_.usergroup_ttl) {
    co_return known->members;
  }
  std::vector<std::pair<std::string, std::string>> args{{"usergroup", group}};
  std::string method = "usergroups.users.list";
  auto answer = co_await api_.call_form(std::move(method), std::move(args));
  if (!answer) {
    // A Slack outage keeps the last list for usergroup_grace after it was
    // fetched, then fails closed: nobody is a member until Slack answers, so
    // someone removed from the group does not keep its rights meanwhile.
    known = usergroups_.find(group);
    if (known != nullptr && now - known->fetched < config_.usergroup_grace) {
      spdlog::warn("slack: cannot list user group {}: {}; using the list of {} s ago (grace {} s)", group,
                   answer.error().message, std::chrono::duration_cast<std::chrono::seconds>(now - known->fetched).count(),
                   config_.usergroup_grace.count());
      co_return known->members;
    }
    spdlog::error("slack: cannot list user group {}: {}; nobody counts as its member until Slack answers "
                  "(adapters.slack.usergroup_grace is over)", group, answer.error().message);
    co_return std::vector<std::string>{};
  }
  std::vector<std::string> members;
  if ((*answer)["users"].is_array()) {
    for (const auto& id : (*answer)["users"]) {
      if (id.is_string()) {
        members.push_back(id.get<std::string>());
      }
    }
  }
  usergroups_.put(group, GroupMembers{members, now});
  co_return members;
}

}  // namespace opsgate::adapters::slack
