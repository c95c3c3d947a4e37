#include "src/core/action_request.hpp"

#include <charconv>
#include <cstdio>
#include <system_error>

#include "src/core/audit_log.hpp"

namespace opsgate {

std::string ActionRequest::canonical() const {
  // Byte for byte json{{"action", action}, {"params", params}}.dump(-1, ' ',
  // false, replace), written directly: every request logs it, and building
  // the object first cost a dozen allocations (tests/core/action_request_test.cpp).
  std::string out;
  out.reserve(32 + action.size());
  out += "{\"action\":";
  append_json_string(out, action);
  out += ",\"params\":";
  if (params.is_object() && params.empty()) {
    out += "{}";
  } else {
    out += params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  out += '}';
  return out;
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

static nlohmann::json to_json_kind(const ParseResult& result);

nlohmann::json to_json(const LlmCall& call) {
  nlohmann::json j{{"connection", call.connection}, {"provider", call.provider},
                   {"model", call.model},           {"prompt_version", call.prompt_version},
                   {"latency_ms", call.latency_ms}, {"cost_usd", call.cost_usd}};
  j["tokens_in"] = call.tokens_in < 0 ? nlohmann::json() : nlohmann::json(call.tokens_in);
  j["tokens_out"] = call.tokens_out < 0 ? nlohmann::json() : nlohmann::json(call.tokens_out);
  if (!call.response_model.empty()) {
    j["response_model"] = call.response_model;
  }
  if (!call.error.empty()) {
    j["error"] = call.error;
  }
  return j;
}

std::string parse_audit_detail(const ParseResult& result) {
  // Written into one string sized for the common case (every understood
  // message has this detail); to_chars gives printf's "%.2f" digits.
  char confidence[32];
  const auto printed = std::to_chars(confidence, confidence + sizeof confidence, result.confidence,
                                     std::chars_format::fixed, 2);
  std::string detail;
  detail.reserve(48 + result.parser.size());
  detail += "parser=";
  detail += result.parser;
  detail += " confidence=";
  detail.append(confidence, printed.ec == std::errc{} ? printed.ptr : confidence);
  if (result.llm) {
    const LlmCall& c = *result.llm;
    char numbers[160];
    std::snprintf(numbers, sizeof numbers, " llm.tokens_in=%lld llm.tokens_out=%lld llm.latency_ms=%.0f llm.cost_usd=%.6f",
                  static_cast<long long>(c.tokens_in), static_cast<long long>(c.tokens_out), c.latency_ms, c.cost_usd);
    detail += " llm.connection=" + c.connection + " llm.model=" + c.model + " llm.prompt=" + c.prompt_version + numbers;
    if (!c.error.empty()) {
      detail += " llm.error=" + c.error;
    }
  }
  if (!result.degraded.empty()) {
    detail += " degraded=" + result.degraded;
  }
  if (!result.team.empty()) {
    detail += " team=" + result.team;
  }
  if (result.kind == ParseKind::clarify) {
    detail += " question=" + result.question;
  }
  return detail;
}

nlohmann::json to_json(const ParseResult& result) {
  nlohmann::json j = to_json_kind(result);
  if (result.llm) {
    j["llm"] = to_json(*result.llm);
  }
  if (!result.degraded.empty()) {
    j["degraded"] = result.degraded;
  }
  return j;
}

static nlohmann::json to_json_kind(const ParseResult& result) {
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
