#pragma once
// What a parser understood: an action with parameters, a question back to the
// user, or nothing. Parameters are a JSON object of strings and integers whose
// names are those of the action catalogue (target, env, range_s, ...).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace opsgate {

struct ActionRequest {
  ActionRequest() = default;
  ActionRequest(std::string action_name, nlohmann::json parameters = nlohmann::json::object(),
                std::string break_glass = {})
      : action(std::move(action_name)), params(std::move(parameters)), break_glass_reason(std::move(break_glass)) {}

  std::string action;  // canonical name, e.g. "metrics.query"
  nlohmann::json params = nlohmann::json::object();
  // Set when the user invoked break-glass (`break_glass="reason"`). The policy
  // decides whether the principal may; the text alone grants nothing.
  std::string break_glass_reason;

  // Canonical text of the request: used for hashing approvals, so an approval
  // for "scale cart 3" can never run "scale cart 30". nlohmann's object keys
  // are sorted, so dump() is canonical.
  std::string canonical() const;
};

enum class ParseKind { request, clarify, none };

struct ParseResult {
  ParseKind kind = ParseKind::none;
  ActionRequest request;              // when kind == request
  std::string question;               // when kind == clarify
  std::vector<std::string> options;   // likely answers for a clarify
  double confidence = 0.0;
  std::string parser;                 // "command", "nlu", "llm"

  static ParseResult none(std::string parser_name);
  static ParseResult clarify(std::string parser_name, std::string question_text,
                             std::vector<std::string> choices = {});
};

nlohmann::json to_json(const ParseResult& result);

}  // namespace opsgate
