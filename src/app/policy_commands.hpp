#pragma once
// `opsgate policy check` (one decision as JSON) and `opsgate policy test`
// (a file of cases, so teams can test their policies in their own CI).

#include <optional>
#include <string>
#include <vector>

#include "src/core/config.hpp"

namespace opsgate::app {

struct PolicyCheckOptions {
  std::string user;                 // principal id, e.g. slack:T1:U1 or shell:alice
  std::vector<std::string> groups;  // platform-vouched groups
  std::string action;
  std::vector<std::string> params;  // key=value
  std::optional<std::string> at;    // RFC 3339 time, default now
  std::string channel;
  std::string platform;
};

int run_policy_check(const Config& config, const PolicyCheckOptions& options);
int run_policy_test(const Config& config, const std::string& tests_path);

// "2026-11-27T17:00:00Z" or with an offset "+01:00". nullopt if malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

}  // namespace opsgate::app
