#include "src/core/intent_parser.hpp"

namespace opsgate {

boost::asio::awaitable<ParseResult> IntentParser::parse_async(ParseInput input) const {
  co_return parse(input.text);
}

}  // namespace opsgate
