#pragma once
// The exec backend: write actions (and rollout.status) run a whitelisted
// command template from config (argv, never a shell). This is the folder's
// one public header: its config, the config reader and the factory.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "src/core/action.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::actions::exec {

// The `actions.exec` section, validated once at start-up and immutable after.
// Owned by whoever builds the actions; the actions keep their own copy.
struct ExecConfig {
  std::chrono::seconds timeout{20};               // per command run
  std::string working_dir;                        // empty: the daemon's working directory
  std::map<std::string, std::string> env;         // added to PATH, HOME and LANG; nothing else is passed
  std::map<std::string, std::vector<std::string>> commands;  // action name -> argv template
  std::size_t output_limit = 64 * 1024;           // bytes kept per stream (stdout, stderr)
};

// Reads the `actions.exec` mapping. Throws ConfigError naming file:line:key for
// an unknown key, an action that is not a write action or rollout.status, an
// empty argv or program, or a placeholder the action cannot fill.
ExecConfig parse_exec_config(const ConfigNode& node);

// One Action per configured command; each spec() is the catalogue's entry.
// Process I/O runs on `executor`. Throws ConfigError for a config that
// parse_exec_config would have refused (start-up only).
std::vector<std::unique_ptr<opsgate::Action>> make_exec_actions(const ExecConfig& config,
                                                                std::shared_ptr<const Inventory> inventory,
                                                                boost::asio::any_io_executor executor);

}  // namespace opsgate::actions::exec
