#pragma once
// Who a Slack user is: the display name (users.info) and the configured user
// groups they belong to (usergroups.users.list), cached with TTLs; a group
// Slack cannot list keeps its last list for a grace period, then nobody is a
// member (fail closed). Owned by the Slack adapter; on the daemon's io_context.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "adapters/slack/slack_adapter.hpp"
#include "adapters/slack/slack_web_api.hpp"
#include "src/core/bounded_map.hpp"
#include "src/core/clock.hpp"

namespace opsgate::adapters::slack {

class SlackIdentity {
 public:
  SlackIdentity(const SlackConfig& config, WebApi& api, std::shared_ptr<const Clock> clock);

  // The profile's display name, else the real name, else the user name; "" when Slack cannot say.
  boost::asio::awaitable<std::string> display_name(std::string user);
  // "slack:usergroup:<id>" for each configured group `user` is a member of.
  boost::asio::awaitable<std::vector<std::string>> groups_of(std::string user);

 private:
  template <class T>
  struct Cached {
    T value;
    std::chrono::steady_clock::time_point expires;
  };
  // A user group's members as Slack last listed them, and when (the injected clock).
  struct GroupMembers {
    std::vector<std::string> members;
    std::chrono::system_clock::time_point fetched;
  };

  boost::asio::awaitable<std::vector<std::string>> usergroup_members(std::string group);

  const SlackConfig& config_;
  WebApi& api_;
  std::shared_ptr<const Clock> clock_;
  BoundedMap<Cached<std::string>> users_;
  BoundedMap<GroupMembers> usergroups_;
};

}  // namespace opsgate::adapters::slack
