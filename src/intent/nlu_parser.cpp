#include "src/intent/nlu_parser.hpp"

#include "src/intent/nlu_analysis.hpp"

namespace opsgate::intent {

using nlohmann::json;
using nlu::kParserName;

NluParser::NluParser(std::shared_ptr<const Inventory> inventory)
    : inventory_(std::move(inventory)), vocabulary_(nlu::build_vocabulary(*inventory_)) {}

NluParser::~NluParser() = default;

ParseResult NluParser::parse(std::string_view text) const {
  if (text.size() > kNluMaxMessageBytes) {
    return ParseResult::none(std::string(kParserName));
  }
  const std::string cleaned = nlu::clean_message(text);
  std::string_view body = text::trim(cleaned);
  // The command prefixes mean nothing more here; the command parser has
  // already had its chance.
  if (!body.empty() && body.front() == '!') {
    body = text::trim(body.substr(1));
  } else if (body.size() >= 4 && to_lower(body.substr(0, 4)) == "/ops" &&
             (body.size() == 4 || body[4] == ' ')) {
    body = text::trim(body.substr(4));
  }
  if (body.empty()) {
    return ParseResult::none(std::string(kParserName));
  }
  if (body.find_first_not_of("? ") == std::string_view::npos) {
    // A lone "?" (or "??") addressed to us asks what we can do.
    ParseResult r;
    r.kind = ParseKind::request;
    r.request.action = "help";
    r.request.params = json::object();
    r.confidence = kNluExplicit;
    r.parser = std::string(kParserName);
    return r;
  }
  if (auto query = nlu::promql_query(body)) {
    if (query->empty()) {
      return ParseResult::clarify(std::string(kParserName), "Which PromQL query? Write it after `promql:`.");
    }
    ParseResult r;
    r.kind = ParseKind::request;
    r.request.action = "metrics.promql";
    r.request.params = json{{"query", text::sanitize_utf8(*query, nlu::kMaxQueryBytes + 1)}};
    r.confidence = kNluConfident;
    r.parser = std::string(kParserName);
    return r;
  }
  return nlu::Analysis(*inventory_, *vocabulary_, body).decide();
}

}  // namespace opsgate::intent
