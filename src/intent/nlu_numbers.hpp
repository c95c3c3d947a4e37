#pragma once
// Numbers, durations and version tags as people type them in chat: "three",
// "twenty-five", "15min", "1h30m", "v1.9.3", "4.0.0-rc1". Pure functions over
// lowercased words; nothing here allocates per call or throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace opsgate::intent::nlu {

struct NumberMatch {
  std::int64_t value = 0;
  std::size_t words = 0;  // how many words the number spans ("twenty five" is 2)
};

// A whole number at words[i]: digits (at most 9), or English number words up
// to 999 ("three", "twenty-five", "twenty five", "a hundred", "dozen").
std::optional<NumberMatch> match_number(std::span<const std::string> words, std::size_t i);

// Seconds in one unit word: "minutes" -> 60, "hrs" -> 3600. Single letters
// ("m", "h") are not units on their own: "5 m" is too ambiguous in chat.
std::optional<std::int64_t> unit_word_seconds(std::string_view word);

// A compact duration written as one word: "2h", "15min", "2hrs", "1h30m", "90s".
// At most 365 days; zero is not a duration.
std::optional<std::int64_t> compact_duration(std::string_view word);

// An image tag that reads as a version on its own: "v1.9.3", "1.8.0",
// "2024.11.2", "4.0.0-rc1", "v2". Plain integers and words are not versions.
bool is_version_literal(std::string_view word);

// A tag that may follow the word "version"/"tag" ("version build-42"): the
// catalogue's tag characters and at least one digit.
bool is_tag_like(std::string_view word);

}  // namespace opsgate::intent::nlu
