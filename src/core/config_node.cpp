#include "src/core/config_node.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/core/duration.hpp"
#include <fmt/format.h>

namespace opsgate {

std::optional<std::string> expand_env(const std::string& text, std::string& error) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    const std::size_t end = text.find('}', start);
    if (end == std::string::npos) {
      error = "unterminated '${' (write ${env:NAME} or ${env:NAME:-default})";
      return std::nullopt;
    }
    const std::string inner = text.substr(start + 2, end - start - 2);
    if (inner.rfind("env:", 0) != 0) {
      error = "unknown reference '${" + inner + "}' (only ${env:NAME} and ${env:NAME:-default} are supported)";
      return std::nullopt;
    }
    std::string name = inner.substr(4);
    std::optional<std::string> fallback;
    if (const auto dash = name.find(":-"); dash != std::string::npos) {
      fallback = name.substr(dash + 2);
      name = name.substr(0, dash);
    }
    if (name.empty()) {
      error = "empty variable name in '${" + inner + "}'";
      return std::nullopt;
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else {
      error = "environment variable " + name + " is not set (set it, or write ${env:" + name + ":-default})";
      return std::nullopt;
    }
    i = end + 1;
  }
  return out;
}

ConfigNode::ConfigNode(std::shared_ptr<const std::string> file, YAML::Node node, std::string path)
    : file_(std::move(file)), node_(std::move(node)), path_(std::move(path)) {}

ConfigNode ConfigNode::parse(const std::string& text, const std::string& file) {
  auto name = std::make_shared<const std::string>(file);
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) {
      throw ConfigError(file + ":1: the file must be a YAML mapping of keys to values");
    }
    return ConfigNode(name, root, "");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

ConfigNode ConfigNode::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(path + ": cannot open the file (does it exist and is it readable?)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path);
}

int ConfigNode::line_of(const YAML::Node& n) const {
  const auto mark = n.Mark();
  return mark.line >= 0 ? mark.line + 1 : line();
}

int ConfigNode::line() const {
  const auto mark = node_.Mark();
  return mark.line >= 0 ? mark.line + 1 : 1;
}

std::string ConfigNode::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ConfigNode::fail(const std::string& key, const std::string& what) const {
  int at = line();
  if (node_.IsMap() && node_[key]) {
    at = line_of(node_[key]);
  }
  throw ConfigError(*file_ + ":" + std::to_string(at) + ": " + key_path(key) + ": " + what);
}

void ConfigNode::fail_here(const std::string& what) const {
  throw ConfigError(*file_ + ":" + std::to_string(line()) + ": " + (path_.empty() ? "(top level)" : path_) + ": " +
                    what);
}

bool ConfigNode::has(const std::string& key) const {
  return node_.IsMap() && node_[key] && !node_[key].IsNull();
}

YAML::Node ConfigNode::value(const std::string& key) const {
  used_.insert(key);
  if (!node_.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  return node_[key];
}

ConfigNode ConfigNode::child(const std::string& key) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    fail(key, "is required but missing");
  }
  if (!n.IsMap() && !n.IsSequence()) {
    fail(key, "expected a mapping or a list, got the value '" + n.Scalar() + "'");
  }
  return ConfigNode(file_, n, key_path(key));
}

std::optional<ConfigNode> ConfigNode::optional_child(const std::string& key) const {
  if (!has(key)) {
    used_.insert(key);
    return std::nullopt;
  }
  return child(key);
}

std::string ConfigNode::scalar_of(const YAML::Node& n, const std::string& key) const {
  if (!n.IsScalar()) {
    fail(key, "expected a single value (text or number), got a " + std::string(n.IsMap() ? "mapping" : "list"));
  }
  std::string error;
  auto expanded = expand_env(n.Scalar(), error);
  if (!expanded) {
    fail(key, error);
  }
  return *expanded;
}

std::string ConfigNode::str(const std::string& key) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    fail(key, "is required but missing");
  }
  return scalar_of(n, key);
}

std::string ConfigNode::str_or(const std::string& key, const std::string& fallback) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return fallback;
  }
  return scalar_of(n, key);
}

bool ConfigNode::boolean_or(const std::string& key, bool fallback) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return fallback;
  }
  const std::string v = scalar_of(n, key);
  if (v == "true") return true;
  if (v == "false") return false;
  fail(key, "expected true or false, got '" + v + "'");
}

std::int64_t ConfigNode::integer_or(const std::string& key, std::int64_t fallback, std::int64_t min,
                                    std::int64_t max) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return fallback;
  }
  const std::string v = scalar_of(n, key);
  std::int64_t number = 0;
  std::size_t used = 0;
  try {
    number = std::stoll(v, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.size()) {
    fail(key, "expected a whole number, got '" + v + "'");
  }
  if (number < min || number > max) {
    fail(key, "expected a number from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + v);
  }
  return number;
}

std::chrono::seconds ConfigNode::duration_or(const std::string& key, std::chrono::seconds fallback) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return fallback;
  }
  const std::string v = scalar_of(n, key);
  const auto seconds = parse_duration_seconds(v);
  if (!seconds) {
    fail(key, "expected a duration such as 30s, 5m, 2h or 1d, got '" + v + "'");
  }
  return std::chrono::seconds(*seconds);
}

std::vector<std::string> ConfigNode::strings_or(const std::string& key, std::vector<std::string> fallback) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return fallback;
  }
  if (!n.IsSequence()) {
    fail(key, "expected a list such as [a, b]");
  }
  std::vector<std::string> out;
  for (const auto& item : n) {
    out.push_back(scalar_of(item, key));
  }
  return out;
}

Secret ConfigNode::secret(const std::string& key) const {
  auto s = optional_secret(key);
  if (!s) {
    fail(key, "is required but missing (give {env: NAME} or {file: PATH})");
  }
  return *s;
}

std::optional<Secret> ConfigNode::optional_secret(const std::string& key) const {
  YAML::Node n = value(key);
  if (!n || n.IsNull()) {
    return std::nullopt;
  }
  if (n.IsScalar()) {
    return Secret(scalar_of(n, key), "config:" + key_path(key));
  }
  if (!n.IsMap()) {
    fail(key, "expected {env: NAME}, {file: PATH} or a string");
  }
  ConfigNode spec(file_, n, key_path(key));
  const bool from_env = spec.has("env");
  const bool from_file = spec.has("file");
  if (from_env == from_file) {
    fail(key, "give exactly one of env: or file:");
  }
  if (from_env) {
    const std::string name = spec.str("env");
    spec.finish();
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') {
      fail(key, "environment variable " + name + " is not set");
    }
    return Secret(v, "env:" + name);
  }
  const std::string path = spec.str("file");
  spec.finish();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(key, "cannot read the secret file " + path);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string v = buffer.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) {
    v.pop_back();
  }
  if (v.empty()) {
    fail(key, "the secret file " + path + " is empty");
  }
  return Secret(v, "file:" + path);
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) {
    fail_here("expected a single value");
  }
  std::string error;
  auto expanded = expand_env(node_.Scalar(), error);
  if (!expanded) {
    fail_here(error);
  }
  return *expanded;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  if (!node_.IsMap()) {
    fail_here("expected a mapping of names to values");
  }
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    used_.insert(key);
    out.emplace_back(key, ConfigNode(file_, kv.second, key_path(key)));
  }
  return out;
}

std::vector<ConfigNode> ConfigNode::items() const {
  if (!node_.IsSequence()) {
    fail_here("expected a list");
  }
  std::vector<ConfigNode> out;
  std::size_t index = 0;
  for (const auto& item : node_) {
    out.emplace_back(file_, item, path_ + "[" + std::to_string(index++) + "]");
  }
  return out;
}

void ConfigNode::finish() const {
  if (!node_.IsMap()) {
    return;
  }
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    if (used_.count(key) == 0) {
      const std::string known = fmt::to_string(fmt::join(used_, ", "));
      throw ConfigError(*file_ + ":" + std::to_string(line_of(kv.first)) + ": " + key_path(key) +
                        ": unknown key" + (known.empty() ? "" : " (known here: " + known + ")"));
    }
  }
}

}  // namespace opsgate
