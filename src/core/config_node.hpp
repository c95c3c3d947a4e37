#pragma once
// A YAML mapping being read into a config struct. It remembers the file and the
// key path so every error names file, line and key, and it rejects keys nobody
// asked for (finish()), so a typo never silently does nothing.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "src/core/secret.hpp"

namespace opsgate {

// Thrown at start-up only; main prints what() and exits non-zero.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigNode {
 public:
  ConfigNode(std::shared_ptr<const std::string> file, YAML::Node node, std::string path);

  // Parses YAML text; `file` is the name used in errors.
  static ConfigNode parse(const std::string& text, const std::string& file);
  static ConfigNode load_file(const std::string& path);

  bool has(const std::string& key) const;
  ConfigNode child(const std::string& key) const;  // required mapping or sequence
  std::optional<ConfigNode> optional_child(const std::string& key) const;

  std::string str(const std::string& key) const;  // required
  std::string str_or(const std::string& key, const std::string& fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  std::chrono::seconds duration_or(const std::string& key, std::chrono::seconds fallback) const;
  std::vector<std::string> strings_or(const std::string& key, std::vector<std::string> fallback = {}) const;
  // One of a fixed set of names, as the value paired with it: `fallback` when
  // absent; otherwise "expected a, b or c, not 'x'".
  template <class Value>
  Value choice_or(const std::string& key, const std::string& fallback,
                  const std::vector<std::pair<std::string, Value>>& names) const;
  // A credential: `{env: NAME}`, `{file: PATH}`, or a string (with ${env:...}).
  Secret secret(const std::string& key) const;
  std::optional<Secret> optional_secret(const std::string& key) const;

  // This node as a scalar / mapping entries / sequence items.
  std::string as_string() const;
  std::vector<std::pair<std::string, ConfigNode>> entries() const;
  std::vector<ConfigNode> items() const;
  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }

  // Throws for any key of this mapping that no accessor asked for.
  void finish() const;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;
  [[noreturn]] void fail_here(const std::string& what) const;

  int line() const;  // 1-based
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  const YAML::Node& raw() const { return node_; }

 private:
  YAML::Node value(const std::string& key) const;  // marks used; undefined if absent
  std::string key_path(const std::string& key) const;
  std::string scalar_of(const YAML::Node& n, const std::string& key) const;
  int line_of(const YAML::Node& n) const;

  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string path_;
  mutable std::set<std::string> used_;
};

template <class Value>
Value ConfigNode::choice_or(const std::string& key, const std::string& fallback,
                            const std::vector<std::pair<std::string, Value>>& names) const {
  const std::string value = str_or(key, fallback);
  std::string listed;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].first == value) {
      return names[i].second;
    }
    listed += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i].first;
  }
  fail(key, "expected " + listed + ", not '" + value + "'");
}

// Expands ${env:NAME} and ${env:NAME:-default}. Returns an error text for an
// unset variable without default, or a malformed reference.
std::optional<std::string> expand_env(const std::string& text, std::string& error);

}  // namespace opsgate
