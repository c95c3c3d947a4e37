#pragma once
// `opsgate parse`: the intent cascade only, one JSON object per message.

#include <string>
#include <vector>

#include "src/core/config.hpp"

namespace opsgate::app {

struct ParseCommandOptions {
  bool jsonl = false;               // read one message per line from stdin
  std::vector<std::string> texts;  // the messages, when not --jsonl
};

// Returns the exit code: 0, or 2 when there is nothing to parse.
int run_parse_command(const Config& config, const ParseCommandOptions& options);

}  // namespace opsgate::app
