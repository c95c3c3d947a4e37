#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "policies/glob.hpp"

using opsgate::policies::glob_match;

namespace {

// The definition, written the slow and obvious way (a table over every prefix
// pair), to check the one-backtrack matcher against on every small case.
bool reference_match(const std::string& pattern, const std::string& text) {
  std::vector<std::vector<bool>> m(pattern.size() + 1, std::vector<bool>(text.size() + 1, false));
  m[0][0] = true;
  for (std::size_t p = 1; p <= pattern.size(); ++p) {
    for (std::size_t t = 0; t <= text.size(); ++t) {
      if (pattern[p - 1] == '*') {
        m[p][t] = m[p - 1][t] || (t > 0 && m[p][t - 1]);
      } else {
        m[p][t] = t > 0 && m[p - 1][t - 1] && pattern[p - 1] == text[t - 1];
      }
    }
  }
  return m[pattern.size()][text.size()];
}

// Every string of length 0..max_length over `alphabet`.
std::vector<std::string> all_strings(const std::string& alphabet, std::size_t max_length) {
  std::vector<std::string> out{""};
  std::vector<std::string> layer{""};
  for (std::size_t length = 1; length <= max_length; ++length) {
    std::vector<std::string> next;
    for (const auto& prefix : layer) {
      for (const char c : alphabet) {
        next.push_back(prefix + c);
      }
    }
    out.insert(out.end(), next.begin(), next.end());
    layer = std::move(next);
  }
  return out;
}

}  // namespace

TEST_SUITE("policies/glob") {
  TEST_CASE("without a star a pattern matches only itself, case and all") {
    CHECK(glob_match("restart", "restart"));
    CHECK_FALSE(glob_match("restart", "Restart"));
    CHECK_FALSE(glob_match("restart", "restart2"));
    CHECK_FALSE(glob_match("restart", "restar"));
    CHECK_FALSE(glob_match("restart", ""));
    CHECK(glob_match("", ""));
    CHECK_FALSE(glob_match("", "x"));
  }

  TEST_CASE("a star matches any run of characters, none included, across dots and colons") {
    CHECK(glob_match("*", ""));
    CHECK(glob_match("*", "rollout.deploy"));
    CHECK(glob_match("rollout.*", "rollout.deploy"));
    CHECK(glob_match("rollout.*", "rollout."));
    CHECK_FALSE(glob_match("rollout.*", "rollout"));
    CHECK_FALSE(glob_match("rollout.*", "rolloutXdeploy"));  // '.' is a dot, not "any character"
    CHECK(glob_match("slack:*", "slack:T0AAA:U0ALICE"));
    CHECK_FALSE(glob_match("slack:*", "teams:aad:6f1c"));
    CHECK(glob_match("*.query", "metrics.query"));
    CHECK(glob_match("a*b*c", "aXbYbZc"));  // the first 'b' is not the one that must match
    CHECK_FALSE(glob_match("a*b*c", "aXbYbZ"));
    CHECK(glob_match("**", "anything"));
  }

  TEST_CASE("only the star is special: ? [ ] and backslash match themselves") {
    CHECK(glob_match("a?c", "a?c"));
    CHECK_FALSE(glob_match("a?c", "abc"));
    CHECK(glob_match("[ab]", "[ab]"));
    CHECK_FALSE(glob_match("[ab]", "a"));
    CHECK(glob_match("a\\*", "a\\xyz"));
  }

  TEST_CASE("a pattern that makes naive matchers backtrack exponentially still gives the right answer") {
    const std::string text(20000, 'a');
    CHECK_FALSE(glob_match("*a*a*a*a*a*a*a*a*b", text));
    CHECK(glob_match("*a*a*a*a*a*a*a*a*a", text));
  }

  TEST_CASE("agrees with the definition on every pattern over {a, b, *} up to 5 and text over {a, b} up to 6") {
    const auto patterns = all_strings("ab*", 5);
    const auto texts = all_strings("ab", 6);
    int disagreements = 0;
    for (const auto& pattern : patterns) {
      for (const auto& text : texts) {
        if (glob_match(pattern, text) != reference_match(pattern, text)) {
          ++disagreements;
          INFO("pattern " << pattern << " text " << text);
          CHECK(glob_match(pattern, text) == reference_match(pattern, text));
        }
      }
    }
    CHECK(disagreements == 0);
    CHECK(patterns.size() == 364);  // 1 + 3 + 9 + 27 + 81 + 243: the loop covered them all
  }
}
