#include "src/core/channel_routes.hpp"

namespace opsgate {

namespace {

ChannelRef read_channel(const ConfigNode& node, const std::string& key, const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    node.fail(key, "expected <platform>:<channel>, e.g. slack:C0OPS or shell:alerts; got '" + text + "'");
  }
  return ChannelRef{text.substr(0, colon), text.substr(colon + 1)};
}

std::map<std::string, ChannelRef> read_channel_map(const ConfigNode& node) {
  if (!node.is_map()) {
    node.fail_here("expected a mapping of names to <platform>:<channel>");
  }
  std::map<std::string, ChannelRef> out;
  for (const auto& [name, value] : node.entries()) {
    out[name] = read_channel(node, name, value.as_string());
  }
  node.finish();
  return out;
}

}  // namespace

std::optional<ChannelRef> ChannelRoutes::channel_for(const std::string& target, const Inventory& inventory) const {
  if (const auto found = target_channels.find(target); found != target_channels.end()) {
    return found->second;
  }
  if (const Target* t = inventory.find_target(target)) {
    if (const auto found = team_channels.find(t->team); found != team_channels.end()) {
      return found->second;
    }
  }
  return default_channel;
}

ChannelRoutes read_channel_routes(const ConfigNode& section, const Inventory& inventory) {
  const ConfigNode channels = section.child("channels");
  if (!channels.is_map()) {
    section.fail("channels", "expected {default: slack:C0OPS, teams: {...}, targets: {...}}");
  }
  ChannelRoutes routes;
  if (channels.has("default")) {
    routes.default_channel = read_channel(channels, "default", channels.str("default"));
  }
  if (const auto teams = channels.optional_child("teams")) {
    routes.team_channels = read_channel_map(*teams);
  }
  if (const auto targets = channels.optional_child("targets")) {
    routes.target_channels = read_channel_map(*targets);
    for (const auto& [name, channel] : routes.target_channels) {
      const Target* target = inventory.find_target(name);
      if (target == nullptr) {
        targets->fail(name, "is not a target in the inventory");
      }
      if (target->name != name) {
        targets->fail(name, "is not a target in the inventory: write the target's name, " + target->name);
      }
    }
  }
  channels.finish();
  if (!routes.default_channel && routes.team_channels.empty() && routes.target_channels.empty()) {
    section.fail("channels", "names no channel: give at least `default: <platform>:<channel>`");
  }
  return routes;
}

}  // namespace opsgate
