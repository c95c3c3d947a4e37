#include "src/intent/cascade.hpp"

#include "src/core/action_catalogue.hpp"
#include "src/intent/llm_accounting.hpp"

namespace opsgate::intent {

struct IntentCascade::Progress {
  std::optional<ParseResult> question;  // the first clarify, kept while later parsers try
  std::optional<ParseResult> guess;     // the first request below the threshold
  std::optional<LlmCall> llm;           // the model's call, when it was asked
  std::string degraded;
  std::string notice;
  std::string team;
};

IntentCascade::IntentCascade(std::vector<std::unique_ptr<IntentParser>> parsers,
                             std::shared_ptr<const Inventory> inventory, double min_confidence, CascadeOptions options)
    : parsers_(std::move(parsers)),
      inventory_(std::move(inventory)),
      min_confidence_(min_confidence),
      options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = std::make_shared<SystemClock>();
  }
}

std::optional<ParseResult> IntentCascade::consider(ParseResult result, Progress& progress) const {
  if (result.kind == ParseKind::none) {
    return std::nullopt;
  }
  if (result.kind == ParseKind::clarify) {
    if (result.parser == "llm") {
      return result;  // the last word; already validated by the parser
    }
    // A later parser may still understand it; keep the first question.
    if (!progress.question) {
      progress.question = std::move(result);
    }
    return std::nullopt;
  }
  if ((result.request.action == "approve" || result.request.action == "deny" || result.request.action == "cancel") &&
      result.parser != "command") {
    // A decision on someone's request comes only from the command parser's
    // grammar, never from a reading of loose English (nlu) or a model (llm).
    // The id it read (if any) goes into the hint, so the exact command can be copied.
    const nlohmann::json& params = result.request.params;
    std::string shown = "<id>";
    if (params.contains("id") && params["id"].is_string() && !params["id"].get_ref<const std::string&>().empty()) {
      shown = params["id"].get<std::string>();
    }
    ParseResult question = ParseResult::clarify(
        result.parser, "To " + result.request.action + " a request, write `" + result.request.action + " " + shown +
                           "`; `approvals` lists the pending ones.");
    question.confidence = result.confidence;
    if (result.parser == "llm") {
      return question;
    }
    if (!progress.question) {
      progress.question = std::move(question);
    }
    return std::nullopt;
  }
  if (result.confidence < min_confidence_) {
    if (!progress.guess) {
      progress.guess = std::move(result);
    }
    return std::nullopt;
  }
  auto validated = validate_request(result.request, *inventory_);
  if (!validated) {
    ParseResult question = ParseResult::clarify(result.parser, validated.error().question, validated.error().options);
    question.confidence = result.confidence;
    question.request = result.request;  // what was understood, for the audit log
    return question;
  }
  result.request = std::move(*validated);
  return result;
}

ParseResult IntentCascade::conclude(Progress& progress) const {
  ParseResult out = ParseResult::none("cascade");
  if (progress.question) {
    out = std::move(*progress.question);
  } else if (progress.guess) {
    // Not sure enough to act: offer the guess as a question with its answer.
    auto validated = validate_request(progress.guess->request, *inventory_);
    if (validated) {
      const std::string meant = describe(*validated);
      out = ParseResult::clarify(progress.guess->parser, "Did you mean: " + meant + "?", {meant});
      out.request = std::move(*validated);
    } else {
      out = ParseResult::clarify(progress.guess->parser, validated.error().question, validated.error().options);
    }
    out.confidence = progress.guess->confidence;
  }
  return out;
}

ParseResult IntentCascade::parse(std::string_view text) const {
  Progress progress;
  for (const auto& parser : parsers_) {
    if (parser->name() == "llm") {
      continue;
    }
    if (auto done = consider(parser->parse(text), progress)) {
      return std::move(*done);
    }
  }
  return conclude(progress);
}

boost::asio::awaitable<ParseResult> IntentCascade::parse_async(ParseInput input) const {
  Progress progress;
  std::optional<ParseResult> done;
  for (const auto& parser : parsers_) {
    if (parser->name() != "llm") {
      done = consider(parser->parse(input.text), progress);
      if (done) {
        break;
      }
      continue;
    }
    // A confident question from a built-in parser ("restart cart in prod or
    // staging?") costs no tokens; neither does chat nobody addressed to us.
    if (progress.question && progress.question->confidence >= min_confidence_) {
      break;
    }
    if (!input.addressed && !options_.llm_unaddressed && !progress.question && !progress.guess) {
      continue;
    }
    const auto now = options_.clock->now();
    progress.team = options_.accounting ? options_.accounting->team_of(input.principal, input.groups) : "default";
    if (options_.accounting) {
      const BudgetCheck budget = options_.accounting->check(progress.team, now);
      if (!budget.allowed) {
        progress.degraded = "over_budget";
        progress.notice = budget.notice;
        continue;
      }
    }
    ParseInput copy = input;
    ParseResult answer = co_await parser->parse_async(std::move(copy));
    progress.llm = answer.llm;
    if (!answer.degraded.empty()) {
      progress.degraded = answer.degraded;
    }
    if (options_.accounting && answer.llm) {
      const std::string label = answer.kind == ParseKind::request ? answer.request.action
                                : answer.kind == ParseKind::clarify ? std::string("clarify")
                                                                     : std::string(answer.degraded.empty() ? "none" : "error");
      options_.accounting->record(*answer.llm, progress.team, label, now);
    }
    done = consider(std::move(answer), progress);
    if (done) {
      break;
    }
  }
  ParseResult out = done ? std::move(*done) : conclude(progress);
  out.llm = progress.llm;
  if (out.degraded.empty()) {
    out.degraded = progress.degraded;
  }
  out.notice = progress.notice;
  out.team = progress.llm ? progress.team : std::string{};
  co_return out;
}

}  // namespace opsgate::intent
