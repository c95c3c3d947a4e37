#pragma once
// Extension point: turns chat text into a ParseResult. Pure: no side effects,
// safe to call from any thread. parse() is the synchronous path (command,
// nlu); parse_async() is what the pipeline calls: it carries who asked and
// where (for thread context, budgets and metrics), and a parser that needs
// the network (llm) overrides it. Its default runs parse(text).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/action_request.hpp"

namespace opsgate {

// One earlier exchange in the same thread: what was said and what opsgate
// understood ("metrics.query checkout metric=error_rate in prod", or the
// question it asked). Given to the LLM as data, bounded by ConversationMemory.
struct ConversationTurn {
  std::string user_text;
  std::string understood;
};

// A message to parse and its context. The text is untrusted; the rest comes
// from the adapter (verified) and the pipeline.
struct ParseInput {
  std::string text;
  std::string platform;
  std::string workspace;
  std::string channel;
  std::string thread;
  std::string principal;               // "shell:alice"
  std::vector<std::string> groups;     // the principal's platform-vouched groups
  std::vector<ConversationTurn> recent;  // oldest first; empty when the thread is new
  bool addressed = true;               // a DM or a mention (chat in a channel is not)
};

class IntentParser {
 public:
  virtual ~IntentParser() = default;
  virtual std::string_view name() const = 0;
  virtual ParseResult parse(std::string_view text) const = 0;
  // The object must outlive the returned awaitable.
  virtual boost::asio::awaitable<ParseResult> parse_async(ParseInput input) const;
};

}  // namespace opsgate
