#pragma once
// The LogQL opsgate sends to Loki. The stream selector comes from the
// inventory, never from chat; chat text only ever appears escaped inside a
// line filter's string, and levels only from a fixed set.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "actions/loki/logs_action.hpp"

namespace opsgate::actions::loki {

// The parts of one search's queries.
struct LogqlSearch {
  std::string selector;  // the placement's loki_selector, with braces
  std::string contains;  // chat text; empty: no line filter
  std::string level;     // error, warn or info; empty: any
  LevelFilter level_filter = LevelFilter::label;
  std::string level_label = "level";
};

// The inside of a LogQL double-quoted string: \ and " escaped, control
// characters as \n, \r, \t or \xNN.
std::string escape_logql_string(std::string_view text);

// {selector} |= "contains" plus the level filter, for query_range.
std::string build_lines_query(const LogqlSearch& search);

// sum by (<label>) (count_over_time(<selector> <filters> [<range>s])), the
// level filter left out so that every level is counted; nullopt for the
// `line` level filter (the level is no label there: count the lines instead).
std::optional<std::string> build_level_count_query(const LogqlSearch& search, std::int64_t range_s);

// Whether `name` can be a label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_label_name(std::string_view name);

}  // namespace opsgate::actions::loki
