#include "src/core/action_request.hpp"

namespace opsgate {

std::string ActionRequest::canonical() const {
  nlohmann::json j{{"action", action}, {"params", params}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ParseResult ParseResult::none(std::string parser_name) {
  ParseResult r;
  r.kind = ParseKind::none;
  r.parser = std::move(parser_name);
  return r;
}

ParseResult ParseResult::clarify(std::string parser_name, std::string question_text,
                                 std::vector<std::string> choices) {
  ParseResult r;
  r.kind = ParseKind::clarify;
  r.parser = std::move(parser_name);
  r.question = std::move(question_text);
  r.options = std::move(choices);
  return r;
}

nlohmann::json to_json(const ParseResult& result) {
  switch (result.kind) {
    case ParseKind::request:
    {
      nlohmann::json j{{"action", result.request.action},
                       {"params", result.request.params},
                       {"confidence", result.confidence},
                       {"parser", result.parser}};
      if (!result.request.break_glass_reason.empty()) {
        j["break_glass_reason"] = result.request.break_glass_reason;
      }
      return j;
    }
    case ParseKind::clarify: {
      nlohmann::json j{{"action", "clarify"}, {"question", result.question}, {"parser", result.parser}};
      if (!result.options.empty()) {
        j["options"] = result.options;
      }
      return j;
    }
    case ParseKind::none:
      break;
  }
  return {{"action", "none"}};
}

}  // namespace opsgate
