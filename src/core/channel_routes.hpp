#pragma once
// Where a feature that posts on its own (Alertmanager alerts, CI gates) posts:
// the `channels:` block `{default, teams, targets}` read once, here, for all
// of them, and the one rule that picks a target's channel.

#include <map>
#include <optional>
#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"

namespace opsgate {

// `<platform>:<channel>`, e.g. slack:C0OPS or shell:alerts.
struct ChannelRef {
  std::string platform;
  std::string channel;
};

struct ChannelRoutes {
  std::optional<ChannelRef> default_channel;
  std::map<std::string, ChannelRef> team_channels;    // team -> channel
  std::map<std::string, ChannelRef> target_channels;  // inventory target name -> channel

  // The target's own channel, else its team's, else the default (none: nowhere to post).
  std::optional<ChannelRef> channel_for(const std::string& target, const Inventory& inventory) const;
};

// Reads `section.channels`: required, a mapping with `default`, `teams` and
// `targets`, naming at least one channel. Throws ConfigError (file:line: key)
// for a channel not written <platform>:<channel>, an unknown key, or a key
// under `targets` that is not a target name of the inventory (an alias would
// never match: routes are looked up by the target's name).
ChannelRoutes read_channel_routes(const ConfigNode& section, const Inventory& inventory);

}  // namespace opsgate
