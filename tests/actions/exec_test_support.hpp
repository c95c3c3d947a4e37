#pragma once
// Small helpers for the exec backend's tests: a temporary directory, a test
// inventory, config from YAML text, and one coroutine run to completion on a
// real io_context.

#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "actions/exec/exec_action.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::test_exec {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "opsgate-exec-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Targets cart and checkout in prod and staging, as in the demo.
inline std::shared_ptr<const Inventory> test_inventory() {
  auto placements = [](const std::string& deployment) {
    std::map<std::string, TargetPlacement> out;
    out["prod"] = TargetPlacement{"shop-prod", deployment, "app=\"" + deployment + "\"", ""};
    out["staging"] = TargetPlacement{"shop-staging", deployment, "app=\"" + deployment + "\"", ""};
    return out;
  };
  std::vector<Target> targets{{"cart", {}, "shop", placements("cart")},
                              {"checkout", {"co"}, "shop", placements("checkout")}};
  std::vector<Environment> envs{{"prod", {"production"}}, {"staging", {"stage"}}};
  return std::make_shared<const Inventory>(std::move(targets), std::move(envs), "prod");
}

// Parses `yaml` (a whole config file named test.yaml) and reads actions.exec.
inline actions::exec::ExecConfig exec_config_from(const std::string& yaml) {
  const ConfigNode root = ConfigNode::parse(yaml, "test.yaml");
  const ConfigNode actions_node = root.child("actions");
  return actions::exec::parse_exec_config(actions_node.child("exec"));
}

// The ConfigError text parse_exec_config throws for `yaml`, or "" if none.
inline std::string exec_config_error(const std::string& yaml) {
  try {
    exec_config_from(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// Runs one coroutine to completion on `io` and returns its result.
template <class T>
T run_to_completion(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&result, &failure](std::exception_ptr error, T value) {
    failure = error;
    if (!error) {
      result.emplace(std::move(value));
    }
  });
  io.run();
  io.restart();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*result);
}

// True when this process has no child left, running or zombie: stricter
// than "no zombie" (waitpid returning 0 would mean one still runs).
inline bool no_children_left() {
  int status = 0;
  const pid_t pid = ::waitpid(-1, &status, WNOHANG);
  return pid == -1 && errno == ECHILD;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace opsgate::test_exec
